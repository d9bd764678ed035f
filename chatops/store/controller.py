"""The controller's own table: ``controller_metrics`` (its RSS and CPU, and the host's)."""

from __future__ import annotations

from chatops.store.database import Database
from chatops.timeutil import to_sqlite

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
