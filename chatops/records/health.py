"""The controller's health as its checks sum it up, and the figures of the host and of the
controller's own process: ``/health``, ``/metrics``, ``chatops doctor``, and as dicts the
``health_check`` and ``get_system_metrics`` requests."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

HealthStatus = Literal["ok", "degraded", "failing"]


@dataclass(frozen=True, slots=True)
class Health:
    """``ok`` when every check is, ``failing`` when one fails, else ``degraded``; the reasons
    are the failing and warning checks' ``name: detail``."""

    status: HealthStatus
    reasons: tuple[str, ...]
    checks: int
    """How many checks ran."""

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reasons": list(self.reasons), "checks": self.checks}


@dataclass(frozen=True, slots=True)
class HostMetrics:
    cpu_pct: float
    cpu_count: int | None
    memory_pct: float
    memory_available_mb: float
    disk_pct: float
    """Of the data directory's file system."""
    disk_free_mb: float
    load: tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class ControllerMetrics:
    pid: int
    rss_mb: float
    cpu_pct: float
    open_files: int
    connections: int
    store_backlog: int
    bots: int
    uptime_s: float


@dataclass(frozen=True, slots=True)
class SystemMetrics:
    host: HostMetrics
    controller: ControllerMetrics

    def to_dict(self) -> dict[str, Any]:
        host = {**asdict(self.host), "load": list(self.host.load)}
        return {"host": host, "controller": asdict(self.controller)}
