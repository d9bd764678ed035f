"""Approval tables: every request and its decision (the audit, and the prompts a restart must
find again), the grants that let an agent through, and runtime changes to the rules."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from chatops.records.approvals import ApprovalRecord, Grant
from chatops.store.database import Database, Restored
from chatops.timeutil import from_sqlite, to_sqlite

_COLUMNS = (
    "id, request_key, agent, action_type, summary, preview, policy, rule, reason, state, via, "
    "decided_by, decision_reason, approvals_required, approvers_json, requested_at, expires_at, "
    "decided_at, wait_ms, message_channel_id, message_id, message_closed, data_json, diff, "
    "edited_data_json, edited_by, edit_comment"
)
_UPSERT = f"""
INSERT INTO approvals ({_COLUMNS}) VALUES ({", ".join("?" * 27)})
ON CONFLICT(id) DO UPDATE SET
    state = excluded.state, via = excluded.via, decided_by = excluded.decided_by,
    decision_reason = excluded.decision_reason, approvers_json = excluded.approvers_json,
    decided_at = excluded.decided_at, wait_ms = excluded.wait_ms,
    message_channel_id = excluded.message_channel_id, message_id = excluded.message_id,
    message_closed = excluded.message_closed, edited_data_json = excluded.edited_data_json,
    edited_by = excluded.edited_by, edit_comment = excluded.edit_comment
"""
_UPSERT_GRANT = """
INSERT INTO approval_grants (id, agent, action_type, until, created_by, created_at, revoked)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(id) DO UPDATE SET revoked = excluded.revoked
"""
_UPSERT_SETTING = """
INSERT INTO approval_settings (name, value_json, updated_by, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT(name) DO UPDATE SET
    value_json = excluded.value_json, updated_by = excluded.updated_by,
    updated_at = excluded.updated_at
"""


def _record(row: sqlite3.Row) -> ApprovalRecord:
    return ApprovalRecord(
        id=row["id"],
        key=row["request_key"],
        agent=row["agent"],
        action_type=row["action_type"],
        summary=row["summary"],
        preview=row["preview"],
        policy=row["policy"],
        rule=row["rule"],
        reason=row["reason"],
        state=row["state"],
        via=row["via"],
        decided_by=row["decided_by"],
        decision_reason=row["decision_reason"],
        approvals_required=row["approvals_required"],
        approvers=list(json.loads(row["approvers_json"] or "[]")),
        requested_at=from_sqlite(row["requested_at"]),
        expires_at=row["expires_at"],
        decided_at=None if row["decided_at"] is None else from_sqlite(row["decided_at"]),
        wait_ms=row["wait_ms"],
        message_channel_id=row["message_channel_id"],
        message_id=row["message_id"],
        message_closed=bool(row["message_closed"]),
        data=dict(json.loads(row["data_json"] or "{}")),
        diff=row["diff"] or "",
        edited_data=None
        if row["edited_data_json"] is None
        else json.loads(row["edited_data_json"]),
        edited_by=row["edited_by"],
        edit_comment=row["edit_comment"],
    )


LIVE_GRANTS = (
    "SELECT id, agent, action_type, until, created_by, created_at FROM approval_grants "
    "WHERE revoked = 0 AND (until IS NULL OR until > ?) ORDER BY id"
)
"""The grants in force at the time bound to ``?``: the controller's and ``chatops policy``'s."""


def grant_from_row(row: Any) -> Grant:
    return Grant(
        id=row["id"],
        agent=row["agent"],
        action_type=row["action_type"],
        until=row["until"],
        created_by=row["created_by"],
        created_at=from_sqlite(row["created_at"]),
    )


class ApprovalTables:
    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, record: ApprovalRecord) -> None:
        """Insert or update: every change of a request (decision, approver, prompt) lands."""
        self._db.writer.put(_UPSERT, record.id, record.row)

    async def open_requests(self) -> Restored[ApprovalRecord]:
        """Requests still pending, and decided ones whose prompt was never closed: what a
        restart must pick up again."""
        return await self._db.restore(
            "approvals",
            f"SELECT {_COLUMNS} FROM approvals WHERE state = 'pending' OR message_closed = 0 "
            "ORDER BY id",
            _record,
        )

    async def recent(self, limit: int, since: float | None = None) -> list[ApprovalRecord]:
        where, params = ("WHERE requested_at >= ?", (to_sqlite(since),)) if since else ("", ())
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM approvals {where} ORDER BY id DESC LIMIT ?",
            (*params, limit),
        )
        return [_record(row) for row in rows]

    async def counts(self, since: float | None) -> list[tuple[str, str, str, int]]:
        """(action type, policy, state, count): the counts behind the statistics by decision and
        type."""
        where, params = ("WHERE requested_at >= ?", (to_sqlite(since),)) if since else ("", ())
        rows = await self._db.fetchall(
            f"SELECT action_type, policy, state, COUNT(*) AS n FROM approvals {where} "
            "GROUP BY action_type, policy, state",
            params,
        )
        return [(row["action_type"], row["policy"], row["state"], row["n"]) for row in rows]

    async def wait_times(self, since: float | None) -> list[int]:
        """How long each request a human decided waited, in ms, sorted (for the median)."""
        where = "WHERE wait_ms IS NOT NULL AND via IN ('discord', 'cli')"
        params: tuple[Any, ...] = ()
        if since:
            where += " AND requested_at >= ?"
            params = (to_sqlite(since),)
        rows = await self._db.fetchall(
            f"SELECT wait_ms FROM approvals {where} ORDER BY wait_ms", params
        )
        return [int(row["wait_ms"]) for row in rows]

    def save_grant(self, grant: Grant) -> None:
        self._db.writer.put(_UPSERT_GRANT, grant.id, grant.row)

    async def grants(self, now: float) -> Restored[Grant]:
        return await self._db.restore("approval_grants", LIVE_GRANTS, grant_from_row, (now,))

    def save_setting(self, name: str, value: Any, by: str, now: float) -> None:
        self._db.writer.put(
            _UPSERT_SETTING, name, lambda: (name, json.dumps(value), by, to_sqlite(now))
        )

    async def settings(self) -> dict[str, Any]:
        rows = await self._db.fetchall("SELECT name, value_json FROM approval_settings")
        return {row["name"]: json.loads(row["value_json"]) for row in rows}
