"""Quotas: budgets computed from usage, their levels, alerts, rollovers and runway.

Each stored usage event (:class:`~chatops.services.usage.UsageLogged`) adds to the running total
of every budget it counts for and checks that budget's level at once; nothing re-scans
``llm_usage`` except to rebuild the totals at start. One scheduled job (:meth:`tick`) catches
period boundaries and slides rolling windows. Crossings are published on the bus
(:class:`~chatops.services.quotas.events.QuotaCrossed`, ``QuotaCleared``), which the quota
alerts make incidents of kind ``quota`` whose subject is the budget's name: one alert per
threshold crossed per period, with hysteresis, and a closing alert when the period rolls over
after one. A Claude Code session refused for a rate limit
(:class:`~chatops.records.sessions.SessionFailed`) exhausts its plan's window until its reset
(:mod:`chatops.services.quotas.refusals`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from chatops.config.quotas import BudgetConfig, QuotasConfig
from chatops.records.quotas import UsageScope
from chatops.records.sessions import SessionFailed
from chatops.runtime.bus import EventBus
from chatops.services.callers import Caller
from chatops.services.errors import Invalid, NotFound
from chatops.services.ownership import Ownership
from chatops.services.quotas.announce import Announcer
from chatops.services.quotas.budgets import Budget, value_of
from chatops.services.quotas.levels import LevelTracker
from chatops.services.quotas.pools import ModelReport, Pool, PoolBook
from chatops.services.quotas.refusals import exhaust_refused
from chatops.services.quotas.runway import Runway
from chatops.services.usage import UsageLogged
from chatops.store import Store
from chatops.timeutil import Clock, wall_clock

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class QuotaView:
    """One budget (or pool) as every front end shows it."""

    name: str
    kind: str
    used: float
    limit: float
    unit: str
    pct_left: float
    level: str
    resets_at: float | None
    span: str
    runway: Runway
    stale: bool = False
    family: str | None = None
    thresholds: tuple[float, ...] = ()
    """Its alert thresholds, in % left: at or under the lowest, it is critical."""
    models: tuple[str, ...] = ()
    loading: bool = False
    """A budget whose total is still being rebuilt from the usage rows at start: its figures
    are not known yet (``level`` is ``loading``)."""


@dataclass(frozen=True, slots=True)
class QuotaDetail:
    view: QuotaView
    samples: list[tuple[float, float]]
    thresholds: list[float]
    resets: list[float]
    forecast: tuple[tuple[float, float], tuple[float, float]] | None


class QuotaService:
    def __init__(
        self,
        store: Store,
        config: QuotasConfig,
        bus: EventBus,
        ownership: Ownership,
        *,
        clock: Clock = wall_clock,
    ) -> None:
        self._ownership = ownership
        self._tables = store.quotas
        self._config = config
        self._clock = clock
        self.budgets: dict[str, Budget] = {}
        self._announcer = Announcer(bus, store)
        self.pools = PoolBook(store, config, self._announcer)
        self._compacted = 0.0
        self._bus = bus
        self._unsubscribe: list[Callable[[], None]] = []
        self.loaded = asyncio.Event()
        """Set once the budgets' totals are rebuilt (:meth:`start` does not wait for it)."""
        self._loader: asyncio.Task[None] | None = None
        self._held: list[UsageLogged] | None = None

    async def start(self) -> None:
        """Build every budget and what it announced this period; their totals are rebuilt from
        ``llm_usage`` in the background (:attr:`loaded` is set when they are)."""
        now = self._clock()
        states = await self._tables.states()
        await self.pools.start(states)
        self._unsubscribe.append(
            self._bus.subscribe(
                SessionFailed, lambda event: exhaust_refused(self.pools, event, self._clock())
            )
        )
        overrides = await self._tables.overrides()
        for configured in self._config.budgets:
            cfg = configured
            if configured.name in overrides:
                limit, thresholds = overrides[configured.name]
                cfg = configured.model_copy(update={"limit": limit, "thresholds": thresholds})
            thresholds = cfg.thresholds or self._config.default_thresholds
            budget = Budget(cfg, LevelTracker(thresholds, self._config.hysteresis))
            budget.period_start, budget.period_end = budget.span(now)
            state = states.get(cfg.name)
            if state is not None and (
                budget.window is not None or state.period_start == budget.period_start
            ):
                budget.levels.restore(state.level, state.alerted)
            self.budgets[cfg.name] = budget
        self._loader = asyncio.get_running_loop().create_task(self._load(), name="quota-rebuild")

    @property
    def loading(self) -> bool:
        """True until every budget's total is rebuilt from the usage rows."""
        return not self.loaded.is_set()

    async def _load(self) -> None:
        """Rebuild the totals from the rows up to the cut; the events after it wait in
        ``_held`` and are counted once the totals are in."""
        upto: int | None = None
        try:
            upto = await self._tables.usage_cut()
        except Exception:
            log.exception("cannot read where llm_usage ends; the budgets count from zero")
        # Every event published so far is at or under the cut (see usage_cut): from here on,
        # each is above it, held while the rebuild runs.
        self._held = []
        self._unsubscribe.append(self._bus.subscribe(UsageLogged, self.on_usage))
        try:
            for budget in self.budgets.values() if upto is not None else ():
                # Only a family scope needs the models used this period (a scan of the period).
                cfg = budget.config
                models = (
                    await self._tables.models_since(budget.period_start) if cfg.family else None
                )
                scope = budget.scope(models)
                if scope.models != () and upto is not None:  # () is a family with no usage yet
                    await self._rebuild(budget, scope, upto)
        except Exception:
            log.exception("rebuilding the budgets from llm_usage failed; they count from zero")
        held, self._held = self._held or [], None
        self.loaded.set()
        log.info("budgets rebuilt (%d usage events held meanwhile)", len(held))
        now = self._clock()
        for event in held:
            self.on_usage(event)
        for budget in self.budgets.values():
            self._check(budget, now)

    async def _rebuild(self, budget: Budget, scope: UsageScope, upto: int) -> None:
        """The running total of this period (or window) from ``llm_usage``: at start only."""
        metric = budget.config.metric
        if budget.window is None:
            budget.total = await self._tables.usage_since(budget.period_start, metric, scope, upto)
            return
        events = await self._tables.usage_events_since(budget.period_start, metric, scope, upto)
        for ts, value in events:
            budget.add(ts, value)

    def close(self) -> None:
        if self._loader is not None:
            self._loader.cancel()
        while self._unsubscribe:
            self._unsubscribe.pop()()

    # -- events ----------------------------------------------------------------------------------

    def on_usage(self, event: UsageLogged) -> None:
        if self._held is not None:
            self._held.append(event)
            return
        now = self._clock()
        for budget in self.budgets.values():
            if not budget.counts(event.model, event.channel, event.feature):
                continue
            if budget.window is None and not budget.period_start <= event.ts < budget.period_end:
                continue  # a late event of an earlier period
            value = value_of(budget.config.metric, event.tokens_in, event.tokens_out, event.cost)
            budget.add(event.ts, value)
            budget.slide(now)
            self._check(budget, now)

    def report_usage(self, caller: Caller, report: ModelReport, channel: str | None) -> None:
        """A provider's figures for one model's pools (the ``model_usage`` request), from
        a registered bot (``channel``, or the one its connection registered), which each pool
        records as its reporter."""
        reporter = self._ownership.speaker(caller, channel)
        self.pools.report(report, self._clock(), reporter)

    async def trends(self, minutes: int) -> dict[str, list[tuple[float, float]]]:
        """% left of every pool and budget over the last ``minutes`` (``get_usage_trends``)."""
        since = self._clock() - minutes * 60
        names = [*self.pools.pools, *self.budgets]
        return {name: await self._tables.history(name, since) for name in names}

    async def compact(self) -> int:
        """Scheduler job (hourly): history raw for a day, then in 5-minute steps."""
        return await self._tables.compact_history(self._clock(), self._config.history_max_days)

    def tick(self) -> None:
        """Scheduler job: period rollovers and rolling windows (once the budgets are loaded:
        a rollover during the rebuild is caught by the next tick)."""
        if self.loading:
            return
        now = self._clock()
        for budget in self.budgets.values():
            if budget.window is not None:
                budget.slide(now)
                self._check(budget, now)
            elif now >= budget.period_end:
                self._roll_over(budget, now)

    # -- levels ----------------------------------------------------------------------------------

    def _check(self, budget: Budget, now: float) -> None:
        if self.loading:
            return  # a partial total: levels are checked once it is whole
        self._announcer.check(
            budget.name,
            budget.levels,
            budget.burn,
            budget.pct_left,
            budget.period_start,
            now,
            lambda: self._detail(budget, now),
            episodic=budget.window is not None,
        )

    def _roll_over(self, budget: Budget, now: float) -> None:
        budget.total = 0.0
        budget.period_start, budget.period_end = budget.span(now)
        self._announcer.renew(
            budget.name,
            budget.levels,
            budget.burn,
            budget.period_start,
            now,
            "new period, budget renewed",
        )
        log.info("budget %s: new %s", budget.name, budget.config.period)

    def set_budget(
        self,
        name: str,
        *,
        by: str,
        limit: float | None = None,
        thresholds: list[float] | None = None,
    ) -> QuotaView:
        """Change a budget's limit or thresholds at runtime: validated like the config,
        persisted (it survives a restart) and recorded with who did it."""
        budget = self.budgets.get(name)
        if budget is None:
            raise NotFound(f"no budget called {name!r}")
        update: dict[str, object] = {}
        if limit is not None:
            update["limit"] = limit
        if thresholds is not None:
            update["thresholds"] = thresholds
        if not update:
            raise Invalid("give a new limit or new thresholds")
        try:
            cfg = BudgetConfig.model_validate({**budget.config.model_dump(), **update})
        except ValidationError as exc:  # the config's own rule, in one line
            raise Invalid(
                "; ".join(
                    f"{'.'.join(str(part) for part in error['loc']) or 'budget'}: {error['msg']}"
                    for error in exc.errors()
                )
            ) from None
        now = self._clock()
        budget.config = cfg
        budget.levels.thresholds = cfg.thresholds or self._config.default_thresholds
        self._tables.save_override(name, cfg.limit, cfg.thresholds, by, now)
        log.info("budget %s changed by %s: %s", name, by, update)
        self._check(budget, now)
        return self.view(budget, now)

    def names(self) -> list[str]:
        return sorted([*self.pools.pools, *self.budgets])

    async def detail(self, name: str, minutes: int) -> QuotaDetail | None:
        """One pool or budget with its history and its forecast, for a chart."""
        now = self._clock()
        pool = self.pools.pools.get(name)
        budget = self.budgets.get(name)
        if pool is not None:
            view, levels, start = self.pool_view(pool, now), pool.levels, pool.period_start
        elif budget is not None:
            view, levels, start = self.view(budget, now), budget.levels, budget.period_start
        else:
            return None
        samples = await self._tables.history(name, now - minutes * 60)
        end = view.runway.exhausted_at
        if view.resets_at is not None and (end is None or view.resets_at < end):
            end = view.resets_at
        forecast = None
        if end is not None and view.runway.burn_per_hour is not None:
            left = view.pct_left - view.runway.burn_per_hour * (end - now) / 3600
            forecast = ((now, view.pct_left), (end, max(0.0, left)))
        resets = [start] if start >= now - minutes * 60 and samples else []
        return QuotaDetail(view, samples, list(levels.thresholds), resets, forecast)

    # -- views -----------------------------------------------------------------------------------

    def view(self, budget: Budget, now: float) -> QuotaView:
        cfg = budget.config
        resets = None if budget.window is not None else budget.period_end
        runway = budget.burn.runway(now, self._config.burn_window, budget.pct_left, resets)
        level = budget.levels.level
        return QuotaView(
            loading=self.loading,
            name=cfg.name,
            kind="budget",
            used=budget.total,
            limit=cfg.limit,
            unit=cfg.metric,
            pct_left=budget.pct_left,
            level="loading" if self.loading else "ok" if level == 0 else budget.levels.state(level),
            resets_at=resets,
            span=f"rolling {cfg.window}" if cfg.window else f"per {cfg.period}",
            runway=runway,
            thresholds=tuple(budget.levels.thresholds),
        )

    def summary(self) -> list[QuotaView]:
        """Every pool (by family, then name) and every budget, as front ends show them."""
        now = self._clock()
        pools = sorted(self.pools.pools.values(), key=lambda p: (p.family, p.name))
        return [self.pool_view(pool, now) for pool in pools] + [
            self.view(budget, now) for budget in self.budgets.values()
        ]

    def pool_view(self, pool: Pool, now: float) -> QuotaView:
        level = pool.levels.level
        return QuotaView(
            name=pool.name,
            kind="pool",
            used=pool.used,
            limit=pool.limit,
            unit="credits",
            pct_left=pool.pct_left,
            level="ok" if level == 0 else pool.levels.state(level),
            resets_at=pool.resets_at,
            span=pool.window or "",
            runway=pool.burn.runway(now, self._config.burn_window, pool.pct_left, pool.resets_at),
            stale=self.pools.stale(pool, now),
            family=pool.family,
            models=tuple(sorted(pool.models)),
            thresholds=tuple(pool.levels.thresholds),
        )

    def _detail(self, budget: Budget, now: float) -> str:
        view = self.view(budget, now)
        cfg = budget.config
        lines = [
            f"{view.pct_left:.0f}% left of budget {cfg.name}",
            f"{view.used:,.4g} of {cfg.limit:,.4g} {cfg.metric} {view.span}",
        ]
        if view.resets_at is not None:
            local = datetime.fromtimestamp(view.resets_at, ZoneInfo(cfg.timezone))
            lines.append(f"resets {local:%Y-%m-%d %H:%M %Z}")
        lines.append(view.runway.describe(now))
        return "\n".join(lines)
