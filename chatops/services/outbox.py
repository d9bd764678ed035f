"""What an edge owes its hub: events queued in order, kept in the database until JetStream has
stored them, so neither a partition nor a restart of the edge loses one.

Each event gets its idempotency key (its Nats-Msg-Id) when it is queued, so a resend after a
partition is stored once by JetStream, and once by the hub past JetStream's window.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import deque

from chatops.store import Store
from chatops.store.edge_outbox import OutboxEvent


class EdgeOutbox:
    def __init__(self, store: Store) -> None:
        self._rows = store.edge_outbox
        self._queue: deque[OutboxEvent] = deque()
        self._next = 1
        self._ready = asyncio.Event()

    async def start(self) -> None:
        """The events the previous run could not send, first in line."""
        self._queue = deque(await self._rows.pending())
        self._next = self._queue[-1].seq + 1 if self._queue else 1
        if self._queue:
            self._ready.set()

    def put(self, subject: str, payload: bytes, msg_id: str | None = None) -> OutboxEvent:
        event = OutboxEvent(self._next, msg_id or uuid.uuid4().hex, subject, payload)
        self._next += 1
        self._queue.append(event)
        self._rows.add(event)
        self._ready.set()
        return event

    def __len__(self) -> int:
        return len(self._queue)

    async def next_batch(self, limit: int) -> list[OutboxEvent]:
        """The oldest ``limit`` events not yet acknowledged (waits for one)."""
        while not self._queue:
            self._ready.clear()
            await self._ready.wait()
        return list(itertools.islice(self._queue, limit))

    def sent(self, through: int) -> None:
        """JetStream stored every event up to ``through`` (the oldest ones: events are sent in
        order)."""
        while self._queue and self._queue[0].seq <= through:
            self._queue.popleft()
        self._rows.sent(through)
