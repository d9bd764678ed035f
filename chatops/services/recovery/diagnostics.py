"""Diagnostics of a running controller: every check (``run_diagnostics``), their sum
(``health_check``) and the figures of the host and the process (``get_system_metrics``).

Each check has a status (``ok``, ``warning``, ``failing``), a latency where one was measured,
and a detail: the monitor socket (a ping through it, as a client would), the database (a
committed write and a read back, its size, ``quick_check``), the data directory (writable, free
space), the cache directory, Discord (when the bot registered its probe), each webhook (URL
redacted), the scheduler (jobs, next runs, last errors) and each connected bot (a ``ping``
round trip over its connection). The file checks are shared with ``chatops doctor``, which runs
them without a controller.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import psutil

from chatops.config import Settings
from chatops.presentation.formatting import plural
from chatops.records.fleet import MetricPoint
from chatops.records.health import ControllerMetrics, Health, HostMetrics, SystemMetrics
from chatops.services.callers import Declined, LinkError
from chatops.services.fleet import FleetService
from chatops.services.recovery.probes import (
    Check,
    Status,
    assess,
    check_cache_dir,
    check_data_dir,
    check_webhooks,
    summarise,
)
from chatops.store import Store
from chatops.timeutil import Clock, wall_clock

Probe = Callable[[], Awaitable[Check]]
BOT_PING_TIMEOUT = 3.0

__all__ = ["Check", "Diagnostics", "summarise"]


@dataclass(frozen=True, slots=True)
class SchedulerView:
    """What the diagnostics read of the scheduler (set once it runs)."""

    jobs: Callable[[], list[tuple[str, float | None]]]
    errors: dict[str, str]


class Diagnostics:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        fleet: FleetService,
        *,
        http: Callable[[], Any],
        connections: Callable[[], int],
        clock: Clock = wall_clock,
    ) -> None:
        self._settings = settings
        self._store = store
        self._fleet = fleet
        self._http = http
        self._connections = connections
        self._clock = clock
        self._probes: dict[str, Probe] = {}
        self.scheduler: SchedulerView | None = None
        self._process = psutil.Process()

    def add_probe(self, name: str, probe: Probe) -> Callable[[], None]:
        """Another check (Discord's, registered by the bot); returns the removal."""
        self._probes[name] = probe

        def remove() -> None:
            self._probes.pop(name, None)

        return remove

    async def controller_series(self, hours: float = 1.0) -> list[MetricPoint]:
        """The controller's own RSS and CPU over the last ``hours`` (``/metrics``'s chart)."""
        return await self._store.controller.series(self._clock() - hours * 3600)

    async def run_diagnostics(self) -> list[Check]:
        cfg = self._settings
        checks = [
            await self._socket(),
            await self._database(),
            await asyncio.to_thread(check_data_dir, cfg.monitoring.database_path.parent),
            await asyncio.to_thread(
                check_cache_dir, cfg.cache_root, cfg.cache.warning_threshold_mb
            ),
        ]
        for probe in list(self._probes.values()):
            checks.append(await _bounded(probe))
        urls = [url.get_secret_value() for url in cfg.alerts.webhook_urls]
        checks += await check_webhooks(urls, self._http(), cfg.alerts.http_timeout)
        checks.append(self._scheduler())
        checks += await self._bots()
        return checks

    async def health_check(self) -> dict[str, Any]:
        """:meth:`health` as a dict: the ``health_check`` request's answer."""
        return (await self.health()).to_dict()

    async def health(self) -> Health:
        """ok, degraded (a warning) or failing, with the reasons: the checks summed up."""
        checks = await self.run_diagnostics()
        return assess(checks)

    def get_system_metrics(self) -> dict[str, Any]:
        """:meth:`system_metrics` as a dict: the ``get_system_metrics`` request's answer."""
        return self.system_metrics().to_dict()

    def system_metrics(self) -> SystemMetrics:
        data_dir = self._settings.monitoring.database_path.parent
        disk = psutil.disk_usage(str(data_dir))
        memory = psutil.virtual_memory()
        with self._process.oneshot():
            rss = self._process.memory_info().rss
            cpu = self._process.cpu_percent(None)
            open_files = self._process.num_fds()
        return SystemMetrics(
            host=HostMetrics(
                cpu_pct=psutil.cpu_percent(None),
                cpu_count=psutil.cpu_count(),
                memory_pct=memory.percent,
                memory_available_mb=round(memory.available / 1_048_576, 1),
                disk_pct=disk.percent,
                disk_free_mb=round(disk.free / 1_048_576, 1),
                load=os.getloadavg(),
            ),
            controller=ControllerMetrics(
                pid=os.getpid(),
                rss_mb=round(rss / 1_048_576, 1),
                cpu_pct=cpu,
                open_files=open_files,
                connections=self._connections(),
                store_backlog=self._store.writer.backlog,
                bots=len(self._fleet.bots),
                uptime_s=round(time.time() - self._process.create_time(), 1),
            ),
        )

    # -- the checks ------------------------------------------------------------------------------

    async def _socket(self) -> Check:
        cfg = self._settings.monitoring
        if not cfg.enabled:
            return Check("socket", "warning", None, "the monitor server is disabled")
        started = time.perf_counter()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_unix_connection(str(cfg.socket_path)), 5
            )
            try:
                writer.write(b'{"id": 1, "type": "ping"}\n')
                reply = json.loads(await asyncio.wait_for(reader.readline(), 5))
            finally:
                writer.close()
        except (OSError, TimeoutError, ValueError) as exc:
            return Check("socket", "failing", None, f"{cfg.socket_path}: {_why(exc)}")
        latency = (time.perf_counter() - started) * 1000
        if not reply.get("pong"):
            return Check("socket", "failing", latency, f"unexpected answer {reply!r}"[:200])
        return Check("socket", "ok", latency, f"ping answered on {cfg.socket_path}")

    async def _database(self) -> Check:
        try:
            probe = await asyncio.wait_for(self._store.controller.probe(self._clock()), 15)
        except Exception as exc:
            return Check("database", "failing", None, f"write and read back: {_why(exc)}")
        detail = (
            f"write {probe.write_ms:.1f} ms, read {probe.read_ms:.1f} ms, "
            f"{probe.size_bytes / 1_048_576:.1f} MB, quick_check {probe.quick_check}"
        )
        if probe.quick_check != "ok" or not probe.read_back:
            return Check("database", "failing", probe.write_ms, detail)
        degraded = self._store.degraded
        if degraded is not None:
            return Check("database", "failing", probe.write_ms, f"{detail}; {degraded}")
        status: Status = "warning" if probe.write_ms > 1000 else "ok"
        return Check("database", status, probe.write_ms, detail)

    def _scheduler(self) -> Check:
        view = self.scheduler
        if view is None:
            return Check("scheduler", "failing", None, "not running")
        jobs = view.jobs()
        now = time.time()
        soonest = min((t for _, t in jobs if t is not None), default=None)
        detail = plural(len(jobs), "job") + (
            f", next in {max(0.0, soonest - now):.1f}s" if soonest is not None else ""
        )
        if view.errors:
            failed = "; ".join(f"{name}: {error}" for name, error in sorted(view.errors.items()))
            return Check("scheduler", "warning", None, f"{detail}; last errors: {failed}"[:900])
        return Check("scheduler", "ok", None, detail)

    async def _bots(self) -> list[Check]:
        channels = sorted(channel for channel in self._fleet.bots if self._connected(channel))
        return list(await asyncio.gather(*(self._ping_bot(c) for c in channels[:200])))

    def _connected(self, channel: str) -> bool:
        try:
            self._fleet.ownership.link_for(channel)
        except LinkError:
            return False
        return True

    async def _ping_bot(self, channel: str) -> Check:
        name = f"bot {channel}"
        started = time.perf_counter()
        try:
            link = self._fleet.ownership.link_for(channel)
            await link.ask(channel, "ping", timeout=BOT_PING_TIMEOUT)
        except Declined:
            pass  # it answered (its own handler refused): the round trip is what counts
        except LinkError as exc:
            return Check(name, "warning", None, f"no answer over its connection: {exc}")
        return Check(name, "ok", (time.perf_counter() - started) * 1000, "ping answered")


async def _bounded(probe: Probe) -> Check:
    try:
        return await asyncio.wait_for(probe(), 15)
    except Exception as exc:
        return Check("probe", "failing", None, _why(exc))


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}"[:300]
