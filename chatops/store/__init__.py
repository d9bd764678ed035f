"""The store: the only place that writes SQL.

Services import from here only. :class:`Store` is the database handle plus one object per
domain's tables (``fleet``, ``usage``, ``agents``, ``alerts``, ``reports``, ``controller``); each
domain module holds its SQL and maps rows to the records of :mod:`chatops.records`.
"""

from chatops.store.database import Database, Restored
from chatops.store.domains import Store
from chatops.store.offline import (
    SavedSetting,
    read_agents_offline,
    read_approval_changes_offline,
    read_bots_offline,
)
from chatops.store.opening import StoreError
from chatops.store.retention import RETENTION_STATEMENTS

RETENTION_TABLES = tuple(RETENTION_STATEMENTS)
"""The tables the retention job trims, in order."""

__all__ = [
    "RETENTION_TABLES",
    "Database",
    "Restored",
    "SavedSetting",
    "Store",
    "StoreError",
    "read_agents_offline",
    "read_approval_changes_offline",
    "read_bots_offline",
]
