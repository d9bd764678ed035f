"""``Store``: the database handle and one object per domain's tables.

Services take the ``Store`` and use the tables of their domain (``store.fleet.save_bot``,
``store.usage.totals``…); the SQL and the row mapping stay in those modules. A new feature's
tables are one module here and one attribute below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chatops.store.agents import AgentTables
from chatops.store.alerts import AlertTables
from chatops.store.approvals import ApprovalTables
from chatops.store.cache import CacheTables
from chatops.store.controller import ControllerTables
from chatops.store.database import Database
from chatops.store.edge_outbox import EdgeOutbox
from chatops.store.fleet import FleetTables
from chatops.store.quotas import QuotaTables
from chatops.store.reports import ReportQueries
from chatops.store.running_totals import RunningTotalsTables
from chatops.store.usage import UsageTables
from chatops.store.web import WebTables
from chatops.store.writer import GroupCommitWriter


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.fleet = FleetTables(db)
        self.usage = UsageTables(db)
        self.running_totals = RunningTotalsTables(db)
        self.agents = AgentTables(db)
        self.alerts = AlertTables(db)
        self.reports = ReportQueries(db)
        self.controller = ControllerTables(db)
        self.quotas = QuotaTables(db)
        self.approvals = ApprovalTables(db)
        self.cache = CacheTables(db)
        self.web = WebTables(db)
        self.edge_outbox = EdgeOutbox(db)

    @classmethod
    async def open(cls, path: Path, **options: Any) -> Store:
        """Open the database (options as :meth:`Database.open`) with every domain's tables."""
        return cls(await Database.open(path, **options))

    @property
    def path(self) -> Path:
        return self.db.path

    @property
    def writer(self) -> GroupCommitWriter:
        return self.db.writer

    @property
    def degraded(self) -> str | None:
        return self.db.degraded

    async def flush(self) -> None:
        await self.db.flush()

    async def close(self) -> None:
        await self.db.close()
