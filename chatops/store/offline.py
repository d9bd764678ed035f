"""The fleet read straight from the database file, for ``chatops status`` when the controller is
not running."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from chatops.models import BotState
from chatops.store.fleet import BOT_COLUMNS, bot_from_row


def read_bots_offline(path: Path) -> list[BotState]:
    """Read the fleet straight from the database file, for ``chatops status`` when the server is
    down. Synchronous and read-only: it never creates or upgrades anything."""
    if not path.exists():
        return []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        conn.row_factory = sqlite3.Row
        columns = {r[1] for r in conn.execute("PRAGMA table_info(bot_status)")}
        select = ", ".join(c if c in columns else f"NULL AS {c}" for c in BOT_COLUMNS)
        rows = conn.execute(f"SELECT {select} FROM bot_status ORDER BY channel").fetchall()
        return [bot_from_row(row) for row in rows]
    finally:
        conn.close()
