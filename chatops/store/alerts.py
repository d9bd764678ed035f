"""Incidents, the alert outbox and silences: their SQL and row mapping (the alert services
hold the logic)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from chatops.presentation.fleet_alerts import alert_from_v1
from chatops.records.alerts import Alert, Incident, OutboxItem, Severity, Silence
from chatops.store.database import Database, Restored
from chatops.timeutil import from_sqlite, to_sqlite

_UPSERT_INCIDENT = """
INSERT INTO incidents (id, subject, kind, opened_at, last_notified_at, resolved_at, detail,
                       state, severity)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(id) DO UPDATE SET
    last_notified_at = excluded.last_notified_at, resolved_at = excluded.resolved_at,
    detail = excluded.detail, state = excluded.state, severity = excluded.severity
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
    "INSERT INTO silences (id, subject, kind, until, created_at, created_by, reason) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_DELETE_SILENCE = "DELETE FROM silences WHERE id = ?"


def _when(value: float | None) -> str | None:
    return None if value is None else to_sqlite(value)


class AlertTables:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- incidents -------------------------------------------------------------------------------

    def save_incident(self, incident: Incident) -> None:
        """Queued; the row is read from ``incident`` at commit time (the latest state wins)."""
        self._db.writer.put(
            _UPSERT_INCIDENT,
            incident.id,
            lambda: (
                incident.id,
                incident.subject,
                incident.kind,
                to_sqlite(incident.opened_at),
                _when(incident.last_notified_at),
                _when(incident.resolved_at),
                incident.detail,
                incident.state,
                str(incident.severity),
            ),
        )

    async def open_incidents(self) -> Restored[Incident]:
        return await self._db.restore(
            "incidents",
            "SELECT id, subject, kind, opened_at, last_notified_at, resolved_at, detail, state, "
            "severity FROM incidents WHERE resolved_at IS NULL ORDER BY id",
            _incident,
        )

    async def announced_since(self, since: float) -> list[Incident]:
        """Incidents resolved at ``since`` or later that had been announced: what the
        Alertmanager publisher posts resolved again after a restart, in case the crash came
        before an instance took the resolution."""
        rows = await self._db.fetchall(
            "SELECT id, subject, kind, opened_at, last_notified_at, resolved_at, detail, state, "
            "severity FROM incidents WHERE resolved_at >= ? AND last_notified_at IS NOT NULL "
            "ORDER BY id",
            (to_sqlite(since),),
        )
        return [_incident(row) for row in rows]

    # -- outbox ----------------------------------------------------------------------------------

    def save_outbox(self, item: OutboxItem) -> None:
        self._db.writer.put(
            _UPSERT_OUTBOX,
            item.id,
            lambda: (
                item.id,
                to_sqlite(item.created_at),
                item.sink,
                json.dumps(item.alert.to_dict()),
                item.attempts,
                item.next_attempt_at,
                _when(item.delivered_at),
                item.last_error,
                item.group_id,
            ),
        )

    async def pending_outbox(self) -> Restored[OutboxItem]:
        return await self._db.restore(
            "alert_outbox",
            "SELECT id, sink, payload_json, attempts, next_attempt_at, last_error, group_id "
            "FROM alert_outbox WHERE delivered_at IS NULL ORDER BY id",
            _outbox_item,
        )

    # -- silences --------------------------------------------------------------------------------

    def add_silence(self, silence: Silence) -> None:
        self._db.writer.add(
            _INSERT_SILENCE,
            (
                silence.id,
                silence.subject,
                silence.kind,
                silence.until,
                to_sqlite(silence.created_at),
                silence.created_by,
                silence.reason,
            ),
        )

    def delete_silence(self, silence_id: int) -> None:
        self._db.writer.add(_DELETE_SILENCE, (silence_id,))

    async def silences(self) -> Restored[Silence]:
        return await self._db.restore(
            "silences",
            "SELECT id, subject, kind, until, created_at, created_by, reason FROM silences "
            "ORDER BY id",
            _silence,
        )


def _incident(row: sqlite3.Row) -> Incident:
    try:
        severity = Severity(row["severity"])
    except ValueError:
        severity = Severity.CRITICAL
    return Incident(
        id=row["id"],
        subject=row["subject"],
        kind=row["kind"],
        opened_at=from_sqlite(row["opened_at"]),
        severity=severity,
        state=row["state"] or row["kind"],
        detail=row["detail"] or "",
        last_notified_at=from_sqlite(row["last_notified_at"]) if row["last_notified_at"] else None,
        resolved_at=from_sqlite(row["resolved_at"]) if row["resolved_at"] else None,
    )


def _outbox_item(row: sqlite3.Row) -> OutboxItem:
    stored: dict[str, Any] = json.loads(row["payload_json"])
    alert = Alert.from_dict(stored) if "subject" in stored else alert_from_v1(stored)
    return OutboxItem(
        id=row["id"],
        created_at=alert.ts,
        sink=row["sink"],
        alert=alert,
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"],
        group_id=row["group_id"],
    )


def _silence(row: sqlite3.Row) -> Silence:
    return Silence(
        id=row["id"],
        subject=row["subject"],
        kind=row["kind"],
        until=row["until"],
        created_at=from_sqlite(row["created_at"]),
        created_by=row["created_by"],
        reason=row["reason"],
    )
