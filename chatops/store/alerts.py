"""Incidents, the alert outbox and silences: reads and queued writes (the alert services hold
the logic)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from chatops.store.database import Database

_UPSERT_INCIDENT = """
INSERT INTO incidents (id, channel, kind, opened_at, last_notified_at, resolved_at, detail)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(id) DO UPDATE SET
    kind = excluded.kind, last_notified_at = excluded.last_notified_at,
    resolved_at = excluded.resolved_at, detail = excluded.detail
"""
_UPSERT_OUTBOX = """
INSERT INTO alert_outbox (id, created_at, sink, payload_json, attempts, next_attempt_at,
                          delivered_at, last_error, group_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(id) DO UPDATE SET
    attempts = excluded.attempts, next_attempt_at = excluded.next_attempt_at,
    delivered_at = excluded.delivered_at, last_error = excluded.last_error,
    group_id = excluded.group_id
"""
_INSERT_SILENCE = (
    "INSERT INTO silences (id, channel, until, created_at, created_by, reason) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_DELETE_SILENCE = "DELETE FROM silences WHERE id = ?"
_ID_TABLES = frozenset({"incidents", "alert_outbox", "silences"})


class AlertTables:
    """Reads and queued writes for incidents, the alert outbox and silences."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def next_id(self, table: str) -> int:
        if table not in _ID_TABLES:
            raise ValueError(table)
        rows = await self._db.fetchall(f"SELECT COALESCE(MAX(id), 0) + 1 AS n FROM {table}")
        return int(rows[0]["n"])

    def save_incident(self, row: Callable[[], tuple[Any, ...]], incident_id: int) -> None:
        self._db.writer.put(_UPSERT_INCIDENT, incident_id, row)

    def save_outbox(self, row: Callable[[], tuple[Any, ...]], outbox_id: int) -> None:
        self._db.writer.put(_UPSERT_OUTBOX, outbox_id, row)

    def add_silence(self, row: tuple[Any, ...]) -> None:
        self._db.writer.add(_INSERT_SILENCE, row)

    def delete_silence(self, silence_id: int) -> None:
        self._db.writer.add(_DELETE_SILENCE, (silence_id,))

    async def open_incidents(self) -> list[sqlite3.Row]:
        return await self._db.fetchall(
            "SELECT id, channel, kind, opened_at, last_notified_at, detail FROM incidents "
            "WHERE resolved_at IS NULL ORDER BY id"
        )

    async def pending_outbox(self) -> list[sqlite3.Row]:
        return await self._db.fetchall(
            "SELECT id, created_at, sink, payload_json, attempts, next_attempt_at, last_error, "
            "group_id FROM alert_outbox WHERE delivered_at IS NULL ORDER BY id"
        )

    async def silences(self) -> list[sqlite3.Row]:
        return await self._db.fetchall(
            "SELECT id, channel, until, created_at, created_by, reason FROM silences ORDER BY id"
        )
