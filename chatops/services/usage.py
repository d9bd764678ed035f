"""LLM usage: each ``llm_usage`` event stored as one row, exactly once, and its sums over a
window."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from chatops.records.usage import UsageBucket, UsageGroup, UsageTotals
from chatops.runtime.bus import EventBus
from chatops.services.callers import Caller
from chatops.services.errors import Invalid
from chatops.services.fleet import FleetService
from chatops.services.idempotency import IdempotencyGuard
from chatops.services.prices import PriceTable
from chatops.store import Store
from chatops.timeutil import Clock, wall_clock

UsageGrouping = Literal["model", "feature", "bot"]
LONGEST_SPAN_HOURS = 366 * 24.0
"""The longest span a usage read covers: a year and a day."""
MOST_BUCKETS = 500


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

    async def breakdown_over(
        self,
        hours: float,
        group_by: UsageGrouping,
        *,
        channel: str | None = None,
        limit: int | None = None,
    ) -> list[UsageGroup]:
        """:meth:`breakdown` over the last ``hours`` (the dashboard's spans run from an hour to
        a month) and by bot as well, costliest first; the first ``limit`` groups (a fleet of
        10,000 bots is not one chart)."""
        column: Literal["model", "feature", "channel"] = (
            "channel" if group_by == "bot" else group_by
        )
        since = self._clock() - self._span(hours)
        return await self._store.usage.breakdown(channel, since, column, limit=limit)

    async def timeline(
        self, hours: float, buckets: int, *, channel: str | None = None
    ) -> list[UsageBucket]:
        """The last ``hours`` cut into ``buckets`` equal slices, oldest first, every slice
        present (an empty one sums to nothing): the bars of a usage chart."""
        buckets = max(1, min(MOST_BUCKETS, buckets))
        span = self._span(hours)
        width = span / buckets
        since = self._clock() - span
        origin = math.floor(since)  # where the store's slices start
        slots = [UsageBucket(origin + slot * width, 0, 0, 0, 0.0) for slot in range(buckets)]
        for found in await self._store.usage.timeline(channel, since, width):
            # A call stamped up to a few minutes ahead (clock skew) counts in the last slice.
            slot = min(buckets - 1, max(0, round((found.start - origin) / width)))
            held = slots[slot]
            slots[slot] = UsageBucket(
                held.start,
                held.calls + found.calls,
                held.tokens_in + found.tokens_in,
                held.tokens_out + found.tokens_out,
                held.cost + found.cost,
            )
        return slots

    @staticmethod
    def _span(hours: float) -> float:
        if not 0 < hours <= LONGEST_SPAN_HOURS:
            raise Invalid(f"a usage span is more than 0 and at most {LONGEST_SPAN_HOURS:g} hours")
        return hours * 3600.0

    def _since(self, days: int) -> float:
        return self._clock() - days * 86400.0
