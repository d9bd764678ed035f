"""LLM usage: the seed's ``llm_usage`` rows, exactly once, and its usage statistics."""

from __future__ import annotations

from typing import Any

from chatops.peer import Peer
from chatops.protocol import GetUsage, LlmUsage, event_time
from chatops.services.fleet import FleetService
from chatops.services.idempotency import IdempotencyGuard
from chatops.store import Store
from chatops.timeutil import Clock, wall_clock


class UsageService:
    def __init__(
        self,
        store: Store,
        guard: IdempotencyGuard,
        fleet: FleetService,
        *,
        max_event_age: float,
        clock: Clock = wall_clock,
    ) -> None:
        self._store = store
        self._guard = guard
        self._fleet = fleet
        self._max_event_age = max_event_age
        self._clock = clock

    def log_usage(self, peer: Peer, msg: LlmUsage) -> None:
        """Store one call's usage. A registered bot's usage comes only from its owner; a name
        nobody registered is accepted (scripts that log usage without running a bot)."""
        self._fleet.authorize(peer, msg.channel, msg.id)
        now = self._clock()
        ts = event_time(msg.ts, now, self._max_event_age, msg.id)
        if msg.key is not None and not self._guard.claim(msg.key):
            return  # a replay of something already stored: acknowledge, store nothing
        self._store.add_llm_usage(
            ts,
            msg.channel,
            msg.model,
            msg.feature,
            msg.tokens_in,
            msg.tokens_out,
            msg.latency_ms,
            msg.estimated_cost,
            key=msg.key,
            received_at=now,
        )

    async def usage_stats(self, peer: Peer, msg: GetUsage) -> dict[str, Any]:
        return await self._store.usage_stats(msg.channel, msg.days)
