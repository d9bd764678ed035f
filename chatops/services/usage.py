"""LLM usage: each ``llm_usage`` event stored as one row, exactly once, and its sums over a
window."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from chatops.records.usage import UsageGroup, UsageTotals
from chatops.runtime.bus import EventBus
from chatops.services.callers import Caller
from chatops.services.fleet import FleetService
from chatops.services.idempotency import IdempotencyGuard
from chatops.services.prices import PriceTable
from chatops.store import Store
from chatops.timeutil import Clock, wall_clock


@dataclass(frozen=True, slots=True)
class UsageLogged:
    """Published for every usage event once its row is committed (never for a replay, nor for
    a commit that failed and will be retried): budgets count it."""

    ts: float
    channel: str
    model: str
    feature: str | None
    tokens_in: int
    tokens_out: int
    cost: float
    latency_ms: int | None = None
    provider: str = "unknown"
    """``gen_ai.provider.name`` (OpenTelemetry), from the price table's knowledge of the model."""


class UsageService:
    def __init__(
        self,
        store: Store,
        guard: IdempotencyGuard,
        fleet: FleetService,
        bus: EventBus,
        *,
        prices: PriceTable | None = None,
        clock: Clock = wall_clock,
    ) -> None:
        self._bus = bus
        self._prices = prices or PriceTable(enabled=False)
        self._store = store
        self._rows = store.usage
        self._guard = guard
        self._fleet = fleet
        self._clock = clock

    def log_usage(
        self,
        caller: Caller,
        channel: str,
        model: str,
        *,
        feature: str | None = None,
        tokens_in: int = 0,
        tokens_out: int = 0,
        latency_ms: int | None = None,
        estimated_cost: float = 0.0,
        key: str | None = None,
        ts: float | None = None,
    ) -> None:
        """Store one call's usage. A registered bot's usage comes only from its owner; a name
        nobody registered is accepted (scripts that log usage without running a bot)."""
        self._fleet.ownership.authorize(caller, channel)
        accepted = self._guard.accept(ts, key)
        if accepted is None:
            return  # a replay of something already stored: acknowledge, store nothing
        cost = estimated_cost or self._prices.cost(model, tokens_in, tokens_out)
        self._rows.add_llm_usage(
            accepted.ts,
            channel,
            model,
            feature,
            tokens_in,
            tokens_out,
            latency_ms,
            cost,
            key=key,
            received_at=accepted.received_at,
        )
        logged = UsageLogged(
            accepted.ts,
            channel,
            model,
            feature,
            tokens_in,
            tokens_out,
            cost,
            latency_ms,
            self._prices.provider(model),
        )

        def publish_once_committed(error: BaseException | None) -> None:
            # A commit that fails is answered with an error and its key released, so the
            # client sends the event again: counted now, it would be counted twice.
            if error is None:
                self._bus.publish(logged)

        self._store.db.after_commit(publish_once_committed)

    async def totals(self, channel: str | None, days: int) -> UsageTotals:
        """Calls, tokens, cost and mean latency over the last ``days`` days (``get_usage``)."""
        return await self._store.usage.totals(channel, days, self._since(days))

    async def breakdown(
        self, channel: str | None, days: int, group_by: Literal["model", "feature"]
    ) -> list[UsageGroup]:
        return await self._store.usage.breakdown(channel, self._since(days), group_by)

    def _since(self, days: int) -> float:
        return self._clock() - days * 86400.0
