"""Retention: trim every time-series table to ``data_retention_days`` in small batches.

Each batch is its own short transaction in the writer, with a yield to the loop between them,
so heartbeats keep being committed while an old week of data is deleted.
"""

from __future__ import annotations

import asyncio
import logging

from chatops.store import RETENTION_TABLES, Store
from chatops.timeutil import Clock, wall_clock

log = logging.getLogger(__name__)


class RetentionService:
    def __init__(
        self, store: Store, retention_days: int, batch_size: int, *, clock: Clock = wall_clock
    ) -> None:
        self._store = store
        self._retention_days = retention_days
        self._batch_size = batch_size
        self._clock = clock

    @property
    def cutoff(self) -> float:
        return self._clock() - self._retention_days * 86400

    async def run(self) -> dict[str, int]:
        cutoff = self.cutoff
        deleted: dict[str, int] = {}
        for table in RETENTION_TABLES:
            total = 0
            while True:
                count = await self._store.db.purge_batch(table, cutoff, self._batch_size)
                total += count
                if count == 0:
                    break
                await asyncio.sleep(0)
            deleted[table] = total
        if any(deleted.values()):
            log.info("retention removed %s", {k: v for k, v in deleted.items() if v})
        return deleted
