"""An edge's outbox: events for the hub, kept until JetStream acknowledged them."""

from __future__ import annotations

from dataclasses import dataclass

from chatops.store.database import Database


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    seq: int
    msg_id: str
    subject: str
    payload: bytes


class EdgeOutbox:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, event: OutboxEvent) -> None:
        self._db.writer.add(
            "INSERT OR IGNORE INTO edge_outbox (seq, msg_id, subject, payload) VALUES (?, ?, ?, ?)",
            (event.seq, event.msg_id, event.subject, event.payload),
        )

    def sent(self, through: int) -> None:
        """Every event up to ``through`` is stored by JetStream."""
        self._db.writer.add("DELETE FROM edge_outbox WHERE seq <= ?", (through,))

    async def pending(self) -> list[OutboxEvent]:
        rows = await self._db.fetchall(
            "SELECT seq, msg_id, subject, payload FROM edge_outbox ORDER BY seq"
        )
        return [OutboxEvent(row[0], row[1], row[2], bytes(row[3])) for row in rows]
