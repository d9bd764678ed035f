"""The store: the only place that writes SQL. See :class:`Store`."""

from chatops.store.store import Store, StoreError

__all__ = ["Store", "StoreError"]
