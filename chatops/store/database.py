"""The database handle every domain module shares: open, group-committed writes, reads.

Writes go through :class:`~chatops.store.writer.GroupCommitWriter` on one connection; reads use a
second, read-only connection so a long query never holds up ingest (WAL lets both run at once).
Domain modules (``fleet``, ``usage``, ``agents``, ``alerts``, …) hold the SQL and the row
mapping; this module holds what they have in common.
"""

from __future__ import annotations

import asyncio
import math
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import aiosqlite

from chatops.store.opening import StoreError, open_write_connection
from chatops.store.retention import RETENTION_STATEMENTS
from chatops.store.writer import CommitCallback, GroupCommitWriter
from chatops.timeutil import to_sqlite

T = TypeVar("T")

_INSERT_KEY = "INSERT OR IGNORE INTO idempotency_keys (key, ts) VALUES (?, ?)"
_ID_TABLES = frozenset(
    {
        "incidents",
        "alert_outbox",
        "silences",
        "approvals",
        "approval_grants",
        "web_links",
        "web_sessions",
    }
)


@dataclass(frozen=True, slots=True)
class Restored(Generic[T]):
    """What a service reloads at start: its live rows, and the id its next row will take."""

    rows: list[T]
    next_id: int


class Database:
    def __init__(self, path: Path, reader: aiosqlite.Connection, writer: GroupCommitWriter):
        self.path = path
        self._reader = reader
        self.writer = writer

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        synchronous: str = "full",
        max_delay: float = 0.01,
        max_batch: int = 20000,
    ) -> Database:
        conn = await asyncio.to_thread(open_write_connection, path, synchronous)
        try:
            reader = await aiosqlite.connect(f"file:{path}?mode=ro", uri=True)
            async with reader.execute("PRAGMA busy_timeout=5000"):
                pass
        except sqlite3.Error as exc:
            conn.close()
            raise StoreError(f"cannot open database {path} for reading: {exc}") from exc
        writer = GroupCommitWriter(conn, max_delay=max_delay, max_batch=max_batch)
        writer.start()
        return cls(path, reader, writer)

    @property
    def degraded(self) -> str | None:
        """Why the store is failing its commits right now (the latest error), or None."""
        if self.writer.failing_since is None:
            return None
        return f"storage failing: {self.writer.last_error}"

    async def close(self) -> None:
        """Commit what is queued, then close the reader before the writer: the writer is the
        last connection, so its checkpoint (see :meth:`GroupCommitWriter.close`) can fold the
        whole WAL into the database and SQLite removes the ``-wal`` and ``-shm`` files. (Closed
        last, the read-only connection could not, and left them behind.)"""
        try:
            await self._reader.close()
        finally:
            await self.writer.close()  # whatever the reader did: what is queued is committed

    def after_commit(self, callback: CommitCallback) -> None:
        self.writer.after_commit(callback)

    async def flush(self) -> None:
        await self.writer.flush()

    def add_keyed(
        self, statement: str, row: tuple[Any, ...], key: str | None, received_at: float
    ) -> None:
        """Queue an event row and its idempotency key together: one batch, one transaction."""
        if key is not None:
            self.writer.add(_INSERT_KEY, (key, to_sqlite(received_at)))
        self.writer.add(statement, row)

    async def load_keys(self, since: float) -> set[str]:
        rows = await self.fetchall(
            "SELECT key FROM idempotency_keys WHERE ts >= ?", (to_sqlite(since),)
        )
        return {row["key"] for row in rows}

    async def purge_batch(self, table: str, cutoff: float, batch_size: int) -> int:
        """Delete up to ``batch_size`` expired rows of ``table`` in one short transaction, so
        ingest never waits long behind the retention job."""
        statement = RETENTION_STATEMENTS[table]

        def job(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(statement, {"n": batch_size, "cutoff": to_sqlite(cutoff)})
            return int(cursor.rowcount)

        return int(await self.writer.run(job))

    async def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        self._reader.row_factory = sqlite3.Row
        async with self._reader.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def restore(
        self,
        table: str,
        sql: str,
        to_record: Callable[[sqlite3.Row], T],
        params: tuple[Any, ...] = (),
    ) -> Restored[T]:
        """Rows of ``table`` selected by ``sql``, mapped, with the table's next id: what every
        service that keeps rows in memory reloads at start."""
        if table not in _ID_TABLES:
            raise ValueError(f"{table} has no integer id")
        rows = await self.fetchall(sql, params)
        top = await self.fetchall(f"SELECT COALESCE(MAX(id), 0) + 1 AS n FROM {table}")
        return Restored([to_record(row) for row in rows], int(top[0]["n"]))


_LARGEST = 2.0**63 - 1


def finite(value: float) -> float:
    """A sum as JSON can carry it: rows stored before values were bounded may add up to inf."""
    return min(float(value), sys.float_info.max) if not math.isnan(value) else 0.0


def bounded_int(value: float) -> int:
    return int(min(float(value), _LARGEST))
