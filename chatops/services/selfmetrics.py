"""The controller watches itself too: its own RSS/CPU and the host's, every metrics_interval."""

from __future__ import annotations

import os

import psutil

from chatops.store import Store
from chatops.timeutil import Clock, wall_clock


class SelfMetrics:
    def __init__(self, store: Store, *, clock: Clock = wall_clock) -> None:
        self._store = store
        self._clock = clock
        self._process = psutil.Process()
        self._process.cpu_percent(None)
        psutil.cpu_percent(None)
        self.last: dict[str, float] = {}

    def sample(self) -> dict[str, float]:
        self.last = {
            "rss_mb": self._process.memory_info().rss / 1_048_576,
            "cpu_pct": self._process.cpu_percent(None),
            "host_cpu_pct": psutil.cpu_percent(None),
            "host_mem_pct": psutil.virtual_memory().percent,
            "load_1m": os.getloadavg()[0],
        }
        self._store.controller.add_metrics(self._clock(), **self.last)
        return self.last
