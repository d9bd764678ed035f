"""The store: the only place that writes SQL.

Services import from here only. :class:`Store` is the database handle plus one object per
domain's tables (``fleet``, ``usage``, ``agents``, ``alerts``, ``reports``, ``controller``); each
domain module holds its SQL and maps rows to typed records.
"""

from chatops.store.alerts import OutboxItem
from chatops.store.database import Database, Restored
from chatops.store.db import StoreError
from chatops.store.store import Store

__all__ = ["Database", "OutboxItem", "Restored", "Store", "StoreError"]
