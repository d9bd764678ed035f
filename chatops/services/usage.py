"""LLM usage: the seed's ``llm_usage`` rows, exactly once, and its usage statistics."""

from __future__ import annotations

from typing import Any

from chatops.peer import Peer
from chatops.protocol import GetUsage, LlmUsage
from chatops.services.idempotency import IdempotencyGuard
from chatops.store import Store
from chatops.timeutil import Clock, wall_clock


class UsageService:
    def __init__(self, store: Store, guard: IdempotencyGuard, *, clock: Clock = wall_clock) -> None:
        self._store = store
        self._guard = guard
        self._clock = clock

    def log_usage(self, peer: Peer, msg: LlmUsage) -> None:
        now = self._clock()
        if msg.key is not None and not self._guard.claim(msg.key, now):
            return  # a replay of something already stored: acknowledge, store nothing
        self._store.add_llm_usage(
            msg.ts if msg.ts is not None else now,
            msg.channel,
            msg.model,
            msg.feature,
            msg.tokens_in,
            msg.tokens_out,
            msg.latency_ms,
            msg.estimated_cost,
        )

    async def usage_stats(self, peer: Peer, msg: GetUsage) -> dict[str, Any]:
        return await self._store.usage_stats(msg.channel, msg.days)
