"""Reported credit pools: what each agent's provider says is left, absolute values only.

A report changes a pool to the values it carries (a repeat changes nothing). A pool resets when
its reported reset time has passed, or, when the provider gives none, when its % left rebounds
by more than ``rebound_points``; levels then start over. A pool not reported for
``stale_after`` seconds is flagged stale wherever it is shown.

A pool the provider refused for (:meth:`PoolBook.exhaust`, a coding agent's rate limit) is at
0 % left and held there until its reset: a report of the same window meanwhile (a status line
redrawing the figures of the last answer that got through) does not lower its use. A report
after the reset, or of a later window, ends the hold and renews the pool.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from chatops.config.quotas import QuotasConfig
from chatops.records.quotas import PoolReading, PoolRecord, QuotaState
from chatops.services.quotas.announce import Announcer
from chatops.services.quotas.levels import LevelTracker
from chatops.services.quotas.runway import BurnSamples
from chatops.store import Store


@dataclass(slots=True)
class Pool:
    name: str
    family: str
    used: float
    limit: float
    resets_at: float | None
    window: str | None
    updated_at: float
    levels: LevelTracker
    models: set[str] = field(default_factory=set)
    burn: BurnSamples = field(default_factory=BurnSamples)
    period_start: float = 0.0
    reported_by: str | None = None
    held_until: float | None = None
    """Refused by the provider: exhausted until then, whatever a report of this window says
    (kept in memory: after a restart the next report's figures stand)."""

    @property
    def pct_left(self) -> float:
        return max(0.0, 100.0 * (1 - self.used / self.limit))

    def record(self) -> PoolRecord:
        return PoolRecord(
            name=self.name,
            family=self.family,
            models=tuple(sorted(self.models)),
            used=self.used,
            limit=self.limit,
            resets_at=self.resets_at,
            window=self.window,
            updated_at=self.updated_at,
            reported_by=self.reported_by,
        )


@dataclass(frozen=True, slots=True)
class ModelReport:
    """What a provider says is left for one model: its thinking and flow credits (used, limit)
    and any other pool (a 5-hour window, a weekly one)."""

    model: str
    family: str = "other"
    thinking: tuple[float | None, float | None] = (None, None)
    flow: tuple[float | None, float | None] = (None, None)
    pools: tuple[PoolReading, ...] = ()


def seed_pools(report: ModelReport, config: QuotasConfig) -> list[PoolReading]:
    """A report's thinking and flow credits as the pools ``<model> thinking`` and ``<model> flow``
    (a shared pool's, when the model is in ``quotas.shared_pools``), then the named pools."""
    owner = config.pool_name(report.model)
    pools = []
    for kind, (used, limit) in (("thinking", report.thinking), ("flow", report.flow)):
        if used is not None and limit:
            pools.append(PoolReading(name=f"{owner} {kind}", used=used, limit=limit))
    return pools + list(report.pools)


class PoolBook:
    def __init__(self, store: Store, config: QuotasConfig, announcer: Announcer) -> None:
        self._tables = store.quotas
        self._config = config
        self._announcer = announcer
        self.pools: dict[str, Pool] = {}

    async def start(self, states: dict[str, QuotaState]) -> None:
        for record in await self._tables.pools():
            pool = Pool(
                name=record.name,
                family=record.family,
                used=record.used,
                limit=record.limit,
                resets_at=record.resets_at,
                window=record.window,
                updated_at=record.updated_at,
                levels=self._levels(record.name),
                models=set(record.models),
                reported_by=record.reported_by,
            )
            state = states.get(record.name)
            if state is not None:
                pool.period_start = state.period_start
                pool.levels.restore(state.level, state.alerted)
            self.pools[pool.name] = pool

    def _levels(self, name: str) -> LevelTracker:
        thresholds = self._config.pool_thresholds.get(name, self._config.default_thresholds)
        return LevelTracker(thresholds, self._config.hysteresis)

    def report(self, report: ModelReport, now: float, reported_by: str) -> None:
        for reading in seed_pools(report, self._config):
            self._update(reading, report.model, report.family, now, reported_by)

    def _update(
        self, report: PoolReading, model: str, family: str, now: float, reported_by: str
    ) -> None:
        pool = self.pools.get(report.name)
        if pool is None:
            pool = self.pools[report.name] = Pool(
                name=report.name,
                family=family,
                used=report.used,
                limit=report.limit,
                resets_at=report.resets_at,
                window=report.window,
                updated_at=now,
                levels=self._levels(report.name),
                period_start=now,
            )
        before = pool.pct_left
        # Past its reset, once: a report still naming that reset (an idle session's status line
        # redrawing the last figures it had) renews nothing more after the first.
        passed = (
            pool.resets_at is not None
            and now >= pool.resets_at
            and pool.period_start < pool.resets_at
        )
        held = _holds(pool, report, now)
        if pool.held_until is not None and not held:
            # The window it was refused in is over: past its reset, or a later one reported.
            passed = passed or (report.resets_at or 0.0) > pool.held_until
            pool.held_until = None
        pool.used, pool.limit, pool.updated_at = report.used, report.limit, now
        if held:
            pool.used = max(report.used, report.limit)
        rebound = report.resets_at is None and pool.pct_left - before > self._config.rebound_points
        pool.resets_at = pool.resets_at if held and report.resets_at is None else report.resets_at
        pool.window = report.window or pool.window
        pool.family = family
        pool.models.add(model)
        pool.reported_by = reported_by
        if passed or rebound:
            pool.period_start = now
            self._announcer.renew(
                pool.name, pool.levels, pool.burn, now, now, "reset, credits renewed"
            )
        self._save_and_check(pool, now, lambda: self.detail(pool, now))

    def exhaust(self, pool: Pool, now: float, why: str) -> None:
        """The provider refused for this pool (``why``): 0 % left, held until its reset (kept),
        so its thresholds alert once (the deepest, critical) and the next period renews it."""
        pool.used = max(pool.used, pool.limit)
        pool.held_until = pool.resets_at
        pool.updated_at = now
        self._save_and_check(pool, now, lambda: f"{self.detail(pool, now)}\n{why}")

    def _save_and_check(self, pool: Pool, now: float, detail: Callable[[], str]) -> None:
        """Store the pool's new values and let its thresholds speak (``detail``: the alert's
        text, made only if one is due)."""
        self._tables.save_pool(pool.record())
        self._announcer.check(
            pool.name, pool.levels, pool.burn, pool.pct_left, pool.period_start, now, detail
        )

    def stale(self, pool: Pool, now: float) -> bool:
        return now - pool.updated_at > self._config.stale_after

    def detail(self, pool: Pool, now: float) -> str:
        models = ", ".join(sorted(pool.models))
        lines = [
            f"{pool.pct_left:.0f}% left of pool {pool.name}",
            f"{pool.used:,.6g} of {pool.limit:,.6g} credits used"
            + (f" ({pool.window} window)" if pool.window else "")
            + (f" · {models}" if models else ""),
        ]
        if pool.resets_at is not None:
            lines.append(f"resets {datetime.fromtimestamp(pool.resets_at, UTC):%Y-%m-%d %H:%M} UTC")
        runway = pool.burn.runway(now, self._config.burn_window, pool.pct_left, pool.resets_at)
        lines.append(runway.describe(now))
        return "\n".join(lines)


def _holds(pool: Pool, report: PoolReading, now: float) -> bool:
    """True when ``report`` is of the window ``pool`` was refused in, before its reset."""
    until = pool.held_until
    if until is None or now >= until:
        return False
    return report.resets_at is None or report.resets_at <= until
