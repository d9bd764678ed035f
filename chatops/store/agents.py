"""The agents' tables: ``agents`` (what each is doing) and ``agent_tasks`` (each result)."""

from __future__ import annotations

from typing import Any

from chatops.records.fleet import AgentState, SessionInfo
from chatops.store.database import Database
from chatops.timeutil import from_sqlite, to_sqlite

_UPSERT_AGENT = """
INSERT INTO agents (name, agent_type, channel, status, current_task, error_message,
                    tasks_completed, tasks_failed, updated_at, owner_pid,
                    session_id, cwd, model, cost_usd, context_pct, waiting)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(name) DO UPDATE SET
    agent_type = excluded.agent_type, channel = excluded.channel, status = excluded.status,
    current_task = excluded.current_task, error_message = excluded.error_message,
    tasks_completed = excluded.tasks_completed, tasks_failed = excluded.tasks_failed,
    updated_at = excluded.updated_at, owner_pid = excluded.owner_pid,
    session_id = excluded.session_id, cwd = excluded.cwd, model = excluded.model,
    cost_usd = excluded.cost_usd, context_pct = excluded.context_pct, waiting = excluded.waiting
"""
AGENT_COLUMNS = (
    "name",
    "agent_type",
    "channel",
    "status",
    "current_task",
    "error_message",
    "tasks_completed",
    "tasks_failed",
    "updated_at",
    "owner_pid",
    "session_id",
    "cwd",
    "model",
    "cost_usd",
    "context_pct",
    "waiting",
)
"""What an agent's record is read from (the session's facts since migration 12)."""
_INSERT_TASK = (
    "INSERT INTO agent_tasks (ts, agent, task, success, duration_ms, error_message) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


class AgentTables:
    def __init__(self, db: Database) -> None:
        self._db = db

    def save_agent(self, agent: AgentState) -> None:
        self._db.writer.put(
            _UPSERT_AGENT,
            agent.name,
            lambda: (
                agent.name,
                agent.agent_type,
                agent.channel,
                agent.status,
                agent.current_task,
                agent.error_message,
                agent.tasks_completed,
                agent.tasks_failed,
                to_sqlite(agent.updated_at),
                agent.owner_pid,
                *_session_columns(agent.session),
            ),
        )

    def add_task(
        self,
        ts: float,
        agent: str,
        task: str | None,
        success: bool,
        duration_ms: int | None,
        error_message: str | None,
        *,
        key: str | None = None,
        received_at: float,
    ) -> None:
        row = (to_sqlite(ts), agent, task, int(success), duration_ms, error_message)
        self._db.add_keyed(_INSERT_TASK, row, key, received_at)

    async def load_agents(self) -> list[AgentState]:
        rows = await self._db.fetchall(
            f"SELECT {', '.join(AGENT_COLUMNS)} FROM agents ORDER BY name"
        )
        return [agent_from_row(row) for row in rows]


def agent_from_row(row: Any) -> AgentState:
    """An ``agents`` row (:data:`AGENT_COLUMNS`) as its record; shared by the controller's load
    and ``chatops status`` reading the file without a controller, so both see the same agent."""
    return AgentState(
        name=row["name"],
        agent_type=row["agent_type"],
        channel=row["channel"],
        status=row["status"],
        current_task=row["current_task"],
        error_message=row["error_message"],
        tasks_completed=row["tasks_completed"],
        tasks_failed=row["tasks_failed"],
        updated_at=from_sqlite(row["updated_at"]),
        owner_pid=row["owner_pid"],
        session=_session_of(row),
    )


def _session_columns(
    session: SessionInfo | None,
) -> tuple[str | None, str | None, str | None, float | None, float | None, int | None]:
    if session is None:
        return (None, None, None, None, None, None)
    return (
        session.session_id,
        session.cwd,
        session.model,
        session.cost_usd,
        session.context_pct,
        int(session.waiting),
    )


def _session_of(row: Any) -> SessionInfo | None:
    """A session's facts, or None for an agent that never was a coding-agent session (its
    ``waiting`` column is NULL: every session row writes 0 or 1 there)."""
    if row["waiting"] is None:
        return None
    return SessionInfo(
        session_id=row["session_id"],
        cwd=row["cwd"],
        model=row["model"],
        cost_usd=row["cost_usd"],
        context_pct=row["context_pct"],
        waiting=bool(row["waiting"]),
    )
