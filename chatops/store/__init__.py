"""The store: the only place that writes SQL. See :class:`Store`."""

from chatops.store.db import StoreError
from chatops.store.store import Store

__all__ = ["Store", "StoreError"]
