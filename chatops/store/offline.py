"""Read straight from the database file, read-only and synchronously, for the CLI: the fleet for
``chatops status`` when the controller is not running, and the approval policy's runtime changes
and grants for ``chatops policy`` (the same rows the controller reloads at start)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatops.paths import NoDatabase
from chatops.records.approvals import Grant
from chatops.records.fleet import AgentState, BotState
from chatops.store.agents import AGENT_COLUMNS, agent_from_row
from chatops.store.approvals import LIVE_GRANTS, grant_from_row
from chatops.store.fleet import BOT_COLUMNS, bot_from_row
from chatops.timeutil import from_sqlite


def read_bots_offline(path: Path) -> list[BotState]:
    """Read the fleet straight from the database file, for ``chatops status`` when the server is
    down. Synchronous and read-only: it never creates or upgrades anything; raises
    :class:`NoDatabase` when there is no file."""
    if not path.exists():
        raise NoDatabase(path)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        conn.row_factory = sqlite3.Row
        columns = {r[1] for r in conn.execute("PRAGMA table_info(bot_status)")}
        select = ", ".join(c if c in columns else f"NULL AS {c}" for c in BOT_COLUMNS)
        rows = conn.execute(f"SELECT {select} FROM bot_status ORDER BY channel").fetchall()
        return [bot_from_row(row) for row in rows]
    finally:
        conn.close()


def read_agents_offline(path: Path) -> list[AgentState]:
    """The agents (coding-agent sessions among them, with their facts) as the database last
    knew them, read like :func:`read_bots_offline`. A database from before migration 12 has
    no session columns: its agents read as agents without a session."""
    with _read_only(path) as conn:
        if not _has_table(conn, "agents"):
            return []
        columns = {r[1] for r in conn.execute("PRAGMA table_info(agents)")}
        select = ", ".join(c if c in columns else f"NULL AS {c}" for c in AGENT_COLUMNS)
        rows = conn.execute(f"SELECT {select} FROM agents ORDER BY name").fetchall()
        return [agent_from_row(row) for row in rows]


@dataclass(frozen=True, slots=True)
class SavedSetting:
    """A runtime change of the approval policy (the toggle, a rule), as the controller saved it."""

    value: Any
    updated_by: str
    updated_at: float


@contextmanager
def _read_only(path: Path) -> Iterator[sqlite3.Connection]:
    if not path.exists():
        raise NoDatabase(path)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        conn.row_factory = sqlite3.Row
        yield conn
    finally:
        conn.close()


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return found.fetchone() is not None


def read_approval_changes_offline(
    path: Path, now: float
) -> tuple[dict[str, SavedSetting], list[Grant]]:
    """The approval policy's runtime changes (``approval_settings``) and the grants live at
    ``now``; empty from a database older than them. Raises :class:`NoDatabase` without a file
    and ``sqlite3.Error`` for one that cannot be read."""
    with _read_only(path) as conn:
        settings: dict[str, SavedSetting] = {}
        grants: list[Grant] = []
        if _has_table(conn, "approval_settings"):
            for row in conn.execute(
                "SELECT name, value_json, updated_by, updated_at FROM approval_settings"
            ):
                settings[row["name"]] = SavedSetting(
                    json.loads(row["value_json"]), row["updated_by"], from_sqlite(row["updated_at"])
                )
        if _has_table(conn, "approval_grants"):
            grants = [grant_from_row(row) for row in conn.execute(LIVE_GRANTS, (now,))]
        return settings, grants
