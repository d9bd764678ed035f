"""The controller watches itself too: its own RSS/CPU and the host's, every metrics_interval,
and the figures ``/metrics`` shows of it (requests by type, refusals, commits, the writer's
backlog), read when asked, never pushed."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import psutil

from chatops.runtime.stats import Buckets
from chatops.store import Store
from chatops.timeutil import Clock, wall_clock


@dataclass(frozen=True, slots=True)
class SocketFigures:
    """The monitor socket since the start: what it handled and what it turned away."""

    handled: Mapping[str, int] = field(default_factory=dict)
    """Requests by message type (``heartbeat``, ``llm_usage``…)."""
    refused: Mapping[str, int] = field(default_factory=dict)
    """Connections refused, by why (``uid``, ``max_connections``…)."""
    bad_input: Mapping[str, int] = field(default_factory=dict)
    """Bad messages, by the error code they were answered with."""
    connections: int = 0


class SelfMetrics:
    def __init__(self, store: Store, *, clock: Clock = wall_clock) -> None:
        self._store = store
        self._clock = clock
        self._process = psutil.Process()
        self._process.cpu_percent(None)
        psutil.cpu_percent(None)
        self.last: dict[str, float] = {}
        self.socket: Callable[[], SocketFigures] = SocketFigures
        """Set by the composition once the socket serves (none served: all zero)."""

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

    @property
    def commit_seconds(self) -> Buckets:
        """Each store commit's duration."""
        return self._store.writer.commit_seconds

    @property
    def writer_backlog(self) -> int:
        """Writes queued for the next commit."""
        return self._store.writer.backlog
