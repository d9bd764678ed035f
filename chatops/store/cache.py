"""The cache index: one row per entry folder, kept in step with the disk by the manager."""

from __future__ import annotations

import sqlite3

from chatops.records.cache import CacheEntry
from chatops.store.database import Database
from chatops.timeutil import from_sqlite

_COLUMNS = (
    "task_id, agent_type, agent, size_bytes, file_count, created_at, finished_at, preview, "
    "mtime_ns, inode, deleting"
)
_UPSERT = f"""
INSERT INTO cache_entries ({_COLUMNS}) VALUES ({", ".join("?" * 11)})
ON CONFLICT(task_id) DO UPDATE SET
    agent_type = excluded.agent_type, agent = excluded.agent, size_bytes = excluded.size_bytes,
    file_count = excluded.file_count, finished_at = excluded.finished_at,
    preview = excluded.preview, mtime_ns = excluded.mtime_ns, inode = excluded.inode,
    deleting = excluded.deleting
"""
_DELETE = "DELETE FROM cache_entries WHERE task_id = ?"


def _entry(row: sqlite3.Row) -> CacheEntry:
    return CacheEntry(
        task_id=row["task_id"],
        agent_type=row["agent_type"],
        agent=row["agent"],
        size=row["size_bytes"],
        files=row["file_count"],
        created_at=from_sqlite(row["created_at"]),
        finished_at=None if row["finished_at"] is None else from_sqlite(row["finished_at"]),
        preview=row["preview"],
        mtime_ns=row["mtime_ns"],
        inode=row["inode"],
        deleting=bool(row["deleting"]),
    )


class CacheTables:
    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, entry: CacheEntry) -> None:
        self._db.writer.put(_UPSERT, entry.task_id, entry.row)

    def delete(self, task_id: str) -> None:
        self._db.writer.add(_DELETE, (task_id,))

    async def entries(self) -> list[CacheEntry]:
        rows = await self._db.fetchall(f"SELECT {_COLUMNS} FROM cache_entries")
        return [_entry(row) for row in rows]

    def save_state(self, name: str, value: str) -> None:
        self._db.writer.put(
            "INSERT INTO cache_state (name, value_json) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value_json = excluded.value_json",
            name,
            lambda: (name, value),
        )

    async def state(self) -> dict[str, str]:
        rows = await self._db.fetchall("SELECT name, value_json FROM cache_state")
        return {row["name"]: row["value_json"] for row in rows}
