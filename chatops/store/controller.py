"""The controller's own table: ``controller_metrics`` (its RSS and CPU, and the host's), and the
database's own checks (a timed probe, ``quick_check``, optimize and vacuum)."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from chatops.records.fleet import MetricPoint
from chatops.store.database import Database
from chatops.store.opening import StoreError
from chatops.timeutil import from_sqlite, to_sqlite

_INSERT_CONTROLLER = (
    "INSERT INTO controller_metrics (ts, rss_mb, cpu_pct, host_cpu_pct, host_mem_pct, load_1m) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


class ControllerTables:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add_metrics(
        self,
        ts: float,
        rss_mb: float,
        cpu_pct: float,
        host_cpu_pct: float,
        host_mem_pct: float,
        load_1m: float,
    ) -> None:
        self._db.writer.add(
            _INSERT_CONTROLLER,
            (to_sqlite(ts), rss_mb, cpu_pct, host_cpu_pct, host_mem_pct, load_1m),
        )

    async def series(self, since: float) -> list[MetricPoint]:
        """The controller's own RSS and CPU since ``since`` (``/metrics``'s chart)."""
        rows = await self._db.fetchall(
            "SELECT ts, rss_mb, cpu_pct FROM controller_metrics WHERE ts >= ? ORDER BY ts",
            (to_sqlite(since),),
        )
        return [MetricPoint(from_sqlite(r["ts"]), r["rss_mb"], r["cpu_pct"]) for r in rows]

    async def probe(self, now: float) -> DatabaseProbe:
        """A write (committed, with its fsync) and a read back, timed; the file's size and
        SQLite's own ``quick_check``: the database check of the diagnostics."""
        started = time.perf_counter()
        self._db.writer.add(_PROBE, ("diagnostics", str(now)))
        await self._db.flush()
        wrote = time.perf_counter()
        rows = await self._db.fetchall(
            "SELECT value_json FROM cache_state WHERE name = 'diagnostics'"
        )
        read = time.perf_counter()
        check = await self._db.fetchall("PRAGMA quick_check")
        pages = await self._db.fetchall(
            "SELECT page_count * page_size AS size, freelist_count * page_size AS free "
            "FROM pragma_page_count(), pragma_page_size(), pragma_freelist_count()"
        )
        return DatabaseProbe(
            write_ms=(wrote - started) * 1000,
            read_ms=(read - wrote) * 1000,
            read_back=bool(rows) and rows[0]["value_json"] == str(now),
            quick_check=str(check[0][0]) if check else "no answer",
            size_bytes=int(pages[0]["size"]),
            free_bytes=int(pages[0]["free"]),
        )

    async def optimize(self, vacuum: bool) -> None:
        """``PRAGMA optimize``, and VACUUM when asked: on the writer's thread, off the loop."""

        def job(conn: sqlite3.Connection) -> str | None:
            conn.execute("PRAGMA optimize")
            if not vacuum:
                return None
            # VACUUM cannot run inside the writer's transaction: end it (what the batch holds
            # is committed), vacuum, and open a new one for the writer to commit.
            conn.execute("COMMIT")
            try:
                conn.execute("VACUUM")
                return None
            except sqlite3.Error as exc:
                return str(exc)
            finally:
                conn.execute("BEGIN")

        failed = await self._db.writer.run(job)
        if failed is not None:
            raise StoreError(f"VACUUM failed: {failed}")


_PROBE = (
    "INSERT INTO cache_state (name, value_json) VALUES (?, ?) "
    "ON CONFLICT(name) DO UPDATE SET value_json = excluded.value_json"
)


@dataclass(frozen=True, slots=True)
class DatabaseProbe:
    write_ms: float
    read_ms: float
    read_back: bool
    quick_check: str
    size_bytes: int
    free_bytes: int
