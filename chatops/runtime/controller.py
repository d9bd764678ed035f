"""The controller's services, assembled once and run inside whatever loop hosts them.

Headless ``chatops run`` drives :class:`Controller` from :func:`run_headless`; the Discord bot
drives the same object from its ``setup_hook`` and ``close``. Start order is store → services →
server → scheduler; stop is the reverse, and it flushes the store before connections close so
every acknowledged write is on disk.
"""

from __future__ import annotations

import asyncio
import grp
import logging
import os
import resource
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from chatops.alerts.delivery import AlertDelivery
from chatops.alerts.router import AlertRouter
from chatops.alerts.silences import SilenceService
from chatops.alerts.sinks import Sink, WebhookSink
from chatops.config import Settings
from chatops.paths import ensure_private_dir
from chatops.runtime.bus import EventBus
from chatops.runtime.scheduler import Job, build_scheduler
from chatops.services.agents import AgentService
from chatops.services.fleet import FleetService
from chatops.services.idempotency import IdempotencyGuard
from chatops.services.reports import ReportService
from chatops.services.retention import RetentionService
from chatops.services.selfmetrics import SelfMetrics
from chatops.services.usage import UsageService
from chatops.store import Store
from chatops.timeutil import Clock, wall_clock
from chatops.wire.handlers import build_handlers
from chatops.wire.peer import Peer, uid_refusal
from chatops.wire.server import ConnectionLimits, MonitorServer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Services:
    """The started services, for front ends (cogs, CLI) that only run once start() is done."""

    store: Store
    fleet: FleetService
    agents: AgentService
    usage: UsageService
    reports: ReportService
    silences: SilenceService


class NotStarted(RuntimeError):
    """A front end asked for services before the controller started (or after it stopped)."""


class Controller:
    def __init__(
        self, settings: Settings, *, clock: Clock = wall_clock, sinks: Sequence[Sink] = ()
    ) -> None:
        self.settings = settings
        self._extra_sinks = list(sinks)
        self.http: aiohttp.ClientSession | None = None
        self.delivery: AlertDelivery | None = None
        self.router: AlertRouter | None = None
        self.silences: SilenceService | None = None
        self.clock = clock
        self.bus = EventBus()
        self.store: Store | None = None
        self.server: MonitorServer | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self.fleet: FleetService | None = None
        self.usage: UsageService | None = None
        self.agents: AgentService | None = None
        self.retention: RetentionService | None = None
        self.self_metrics: SelfMetrics | None = None
        self.reports: ReportService | None = None

    @property
    def services(self) -> Services:
        if (
            self.store is None
            or self.fleet is None
            or self.agents is None
            or self.usage is None
            or self.reports is None
            or self.silences is None
        ):
            raise NotStarted("the controller is not running")
        return Services(
            store=self.store,
            fleet=self.fleet,
            agents=self.agents,
            usage=self.usage,
            reports=self.reports,
            silences=self.silences,
        )

    @property
    def running(self) -> bool:
        return self.store is not None

    def health(self) -> dict[str, Any]:
        """What the controller says of itself in every status reply: a failing store makes it
        ``degraded`` (shown by ``chatops status`` and ``/status``) instead of pretending."""
        reason = self.store.degraded if self.store is not None else "not running"
        return {"degraded": reason is not None, "reason": reason}

    async def start(self) -> None:
        cfg = self.settings.monitoring
        _raise_fd_limit(cfg.max_connections + 256)
        ensure_private_dir(cfg.database_path.parent)
        self.store = store = await Store.open(
            cfg.database_path,
            synchronous=cfg.db_synchronous,
            max_delay=cfg.commit_max_delay_ms / 1000,
            max_batch=cfg.commit_max_batch,
        )
        try:
            await self._start_services(store)
        except BaseException:
            await self.stop()
            raise

    async def _start_services(self, store: Store) -> None:
        cfg = self.settings.monitoring
        clock = self.clock
        self.retention = RetentionService(
            store, cfg.data_retention_days, cfg.retention_batch_size, clock=clock
        )
        guard = IdempotencyGuard(
            store, max_event_age=cfg.data_retention_days * 86400.0, clock=clock
        )
        await guard.load(self.retention.cutoff)
        # Alerts first: the fleet's start may already declare bots down.
        await self._start_alerts(store)
        self.fleet = FleetService(store, self.bus, cfg, clock=clock)
        await self.fleet.start()
        self.usage = UsageService(store, guard, self.fleet)
        self.agents = AgentService(store, guard, self.fleet, clock=clock)
        await self.agents.start()
        self.self_metrics = SelfMetrics(store, clock=clock)
        self.reports = ReportService(store, clock=clock)
        if cfg.enabled:
            fleet, agents = self.fleet, self.agents

            def disconnected(peer: Peer) -> None:
                fleet.connection_lost(peer)
                agents.connection_lost(peer)

            group_id = grp.getgrnam(cfg.socket_group).gr_gid if cfg.socket_group else None
            own_uid = os.geteuid()
            self.server = MonitorServer(
                build_handlers(self.fleet, self.usage, self.agents, self.health),
                store.writer,
                on_disconnect=disconnected,
                limits=ConnectionLimits(
                    max_line_bytes=cfg.max_line_bytes,
                    max_pending_writes=cfg.max_pending_writes,
                    handshake_timeout=cfg.handshake_timeout,
                    max_connections=cfg.max_connections,
                    max_connections_per_uid=cfg.max_connections_per_uid,
                    bad_message_budget=cfg.bad_message_budget,
                    bad_message_window=cfg.bad_message_window,
                ),
                admission=lambda peer: uid_refusal(peer, own_uid, group_id),
            )
            await self.server.serve_unix(cfg.socket_path, cfg.socket_group)
        assert self.router is not None and self.delivery is not None
        self.scheduler = build_scheduler(
            [
                Job("reap", self.fleet.reap, cfg.reap_interval),
                Job("retention", self.retention.run, cfg.retention_interval, first_run_after=5),
                Job("sample_self", self.self_metrics.sample, cfg.metrics_interval),
                Job("alerts", self.router.tick, self.settings.alerts.delivery_interval),
                Job(
                    "deliver_alerts", self.delivery.run_due, self.settings.alerts.delivery_interval
                ),
            ]
        )
        self.scheduler.start()

    async def _start_alerts(self, store: Store) -> None:
        alerts = self.settings.alerts
        self.http = aiohttp.ClientSession()
        self.delivery = AlertDelivery(store, alerts, clock=self.clock)
        for url in alerts.webhook_urls:
            self.delivery.add_sink(
                WebhookSink(
                    url.get_secret_value(),
                    self._http_session,
                    alerts.http_timeout,
                    self.settings.discord.alert_role_id,
                )
            )
        for sink in self._extra_sinks:
            self.delivery.add_sink(sink)
        self.silences = SilenceService(store, clock=self.clock)
        await self.silences.start()
        self.router = AlertRouter(
            store, self.bus, alerts, self.delivery, self.silences, clock=self.clock
        )
        await self.router.start()
        await self.delivery.start()

    def _http_session(self) -> aiohttp.ClientSession:
        assert self.http is not None
        return self.http

    async def stop(self) -> None:
        """Stop accepting, flush the store, close connections, remove the socket, then the rest."""
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        if self.server is not None:
            await self.server.stop_accepting()
        if self.store is not None:
            await self.store.flush()
        if self.server is not None:
            await self.server.close_connections()
            self.server = None
        if self.fleet is not None:
            self.fleet.close()
        if self.router is not None:
            self.router.close()
        if self.delivery is not None:
            await self.delivery.close()
        if self.http is not None:
            await self.http.close()
            self.http = None
        if self.store is not None:
            await self.store.close()
            self.store = None
        log.info("controller stopped")


def _raise_fd_limit(wanted: int) -> None:
    """Let the process hold ``max_connections`` sockets (plus its own files), so the excess is
    answered ``too_many_connections`` by the server rather than failed by accept()."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted or soft == resource.RLIM_INFINITY:
        return
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < wanted:
        log.warning(
            "open-file limit %d is below max_connections + 256 (%d); lower max_connections "
            "or raise the limit (ulimit -n)",
            target,
            wanted,
        )


async def run_headless(settings: Settings) -> None:
    """Run the controller until SIGTERM or SIGINT, then shut down gracefully."""
    controller = Controller(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await controller.start()
    log.info(
        "chatops running headless (no Discord token); socket %s, database %s",
        settings.monitoring.socket_path,
        settings.monitoring.database_path,
    )
    try:
        await stop.wait()
        log.info("shutting down")
    finally:
        await controller.stop()
