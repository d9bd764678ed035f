"""The composition root: every service is built here, once, and torn down in reverse.

:meth:`Controller.start` opens the store, builds the services into one frozen :class:`Services`
record, starts the monitor server and the scheduler; every step registers its own teardown on an
``AsyncExitStack``, so a failure half-way and a normal stop both undo exactly what was done, in
reverse. The first step locks the database (:mod:`chatops.runtime.lock`): one controller each.
The entry points build it with the socket's door (:class:`chatops.api.door.SocketDoor`):
headless ``chatops run`` drives it from :func:`chatops.cli.run.run_headless`; the Discord bot
starts it before its first login and stops it after its own close.

A new feature's service is one field in :class:`Services` and one line in
:meth:`Controller._compose` (plus its scheduler jobs beside the others). Deadlines are not jobs:
a service that must act at a time (a bot's silence threshold, an approval's expiry, a restart's
backoff) sets a keyed timer on the one shared :class:`~chatops.runtime.timers.Timers`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from typing import Literal

import aiohttp

from chatops.alerts.sinks import Sink
from chatops.composition.alerting import compose_alerts
from chatops.composition.doors import (
    HttpDoorFactory,
    HttpListenError,
    SocketDoorFactory,
    bind_http,
    serve_http,
    serve_socket,
)
from chatops.composition.implied import approvers_can_be_told, host_timeout, raise_fd_limit
from chatops.composition.probes import add_probes
from chatops.composition.services import NotStarted, Services
from chatops.config import Settings
from chatops.paths import ensure_private_dir
from chatops.runtime.bus import EventBus
from chatops.runtime.lock import ControllerLock, ControllerLocked
from chatops.runtime.scheduler import Job, build_scheduler
from chatops.runtime.timers import Timers
from chatops.services.agents import AgentService
from chatops.services.approvals.service import ApprovalService
from chatops.services.cache.checks import CacheChecks
from chatops.services.cache.manager import CacheManager
from chatops.services.cache.writes import CacheWrites
from chatops.services.fleet import HOSTNAME, FleetService
from chatops.services.health import HealthService
from chatops.services.hosts import HostsService
from chatops.services.idempotency import IdempotencyGuard
from chatops.services.operators import OperatorGate
from chatops.services.outbox import EdgeOutbox
from chatops.services.ownership import Ownership
from chatops.services.prices import PriceTable
from chatops.services.quotas.service import QuotaService
from chatops.services.recovery.cleanup import StaleCleanup
from chatops.services.recovery.diagnostics import Diagnostics, SchedulerView
from chatops.services.recovery.restarts import RestartService
from chatops.services.replies import ReplyService
from chatops.services.reports import ReportService
from chatops.services.retention import RetentionService
from chatops.services.selfmetrics import SelfMetrics
from chatops.services.sessions import SessionService
from chatops.services.usage import UsageService
from chatops.services.usage_totals import UsageTotalsService
from chatops.services.web_sessions import WebSessions
from chatops.store import Store, StoreError
from chatops.timeutil import Clock, wall_clock
from chatops.wire.server import MonitorServer
from chatops.wire.transport import SocketInUseError

log = logging.getLogger(__name__)

Role = Literal["alone", "hub", "edge"]
LinkFactory = Callable[[Services, Settings], AbstractAsyncContextManager[object]]
"""A link to other hosts (:class:`chatops.nats.hub.HubLink`, :class:`chatops.nats.edge.EdgeLink`),
entered once the socket is served and left first at stop."""


@dataclass(frozen=True, slots=True)
class _Running:
    services: Services
    store: Store
    server: MonitorServer | None


START_ERRORS: tuple[type[Exception], ...] = (
    ControllerLocked,
    SocketInUseError,
    HttpListenError,
    StoreError,
    OSError,
)
"""What :meth:`Controller.start` fails with when the machine, not the code, is at fault
(another controller on the database, a path that cannot be used): one line for the operator."""


class Controller:
    def __init__(
        self,
        settings: Settings,
        *,
        socket_door: SocketDoorFactory,
        http_door: HttpDoorFactory | None = None,
        clock: Clock = wall_clock,
        sinks: Sequence[Sink] = (),
        role: Role = "alone",
        links: Sequence[LinkFactory] = (),
    ) -> None:
        self.settings = settings
        self._socket_door = socket_door
        self._http_door = http_door
        self.clock = clock
        self._extra_sinks = list(sinks)
        self.role = role
        """``alone`` (one host), ``hub`` (takes in edges) or ``edge`` (reports to a hub)."""
        self._links = list(links)
        self.links: list[object] = []
        """The started links to other hosts (:mod:`chatops.nats`), for tests and benches."""
        self._stack: AsyncExitStack | None = None
        self.http_addresses: list[tuple[str, int]] = []
        """Where the HTTP door listens once started (the port chosen when it was 0)."""
        self._running: _Running | None = None

    @property
    def running(self) -> bool:
        return self._running is not None

    @property
    def services(self) -> Services:
        return self._state().services

    @property
    def store(self) -> Store:
        """For tests and benches that inspect the database; front ends use :attr:`services`."""
        return self._state().store

    @property
    def server(self) -> MonitorServer | None:
        return self._state().server

    def _state(self) -> _Running:
        if self._running is None:
            raise NotStarted("the controller is not running")
        return self._running

    async def start(self) -> None:
        async with AsyncExitStack() as stack:
            self._running = await self._compose(stack)
            self._stack = stack.pop_all()

    async def stop(self) -> None:
        """Undo start() in reverse: scheduler, server (stop accepting, flush, answer what is
        pending, close), services, HTTP, store."""
        stack, self._stack, self._running = self._stack, None, None
        if stack is not None:
            await stack.aclose()
            log.info("controller stopped")

    async def _compose(self, stack: AsyncExitStack) -> _Running:
        cfg = self.settings.monitoring
        alerts_cfg = self.settings.alerts
        clock = self.clock
        raise_fd_limit(cfg.max_connections + 256)
        ensure_private_dir(cfg.database_path.parent)
        lock = ControllerLock.acquire(cfg.database_path)  # before the database and the socket
        stack.callback(lock.release)
        http_socket = bind_http(self.settings) if self._http_door is not None else None
        if http_socket is not None:
            stack.callback(http_socket.close)
        store = await Store.open(
            cfg.database_path,
            synchronous=cfg.db_synchronous,
            max_delay=cfg.commit_max_delay_ms / 1000,
            max_batch=cfg.commit_max_batch,
        )
        stack.push_async_callback(store.close)
        http = aiohttp.ClientSession()
        stack.push_async_callback(http.close)
        bus = EventBus()
        timers = Timers(clock)
        stack.push_async_callback(timers.close)  # if a later step fails

        retention = RetentionService(
            store, cfg.data_retention_days, cfg.retention_batch_size, clock=clock
        )
        guard = IdempotencyGuard(
            store, max_event_age=cfg.data_retention_days * 86400.0, clock=clock
        )
        await guard.load(retention.cutoff)
        ownership = Ownership()
        operators = OperatorGate(ownership)
        # Alerts first: the fleet's start may already declare bots down.
        alerting = await compose_alerts(
            stack,
            self.settings,
            store=store,
            http=http,
            bus=bus,
            timers=timers,
            operators=operators,
            extra_sinks=self._extra_sinks,
            clock=clock,
        )
        delivery, silences, router = alerting.delivery, alerting.silences, alerting.router
        local_host = self.settings.edge.name if self.role == "edge" else HOSTNAME
        fleet = FleetService(
            store, bus, cfg, ownership, clock=clock, timers=timers, local_host=local_host
        )

        def host_of(name: str) -> str | None:
            bot = fleet.bots.get(name)
            return None if bot is None else bot.host

        alerting.fleet.host_of = host_of
        await fleet.start()
        alerting.fleet.reconcile(fleet.snapshot(), clock())
        silences.is_bot = lambda name: name in fleet.bots
        stack.callback(fleet.close)
        if alerting.alertmanager is not None:  # once the fleet can name each bot's host
            await alerting.alertmanager.start(host_of=host_of)
        agents = AgentService(store, guard, fleet, clock=clock)
        await agents.start()
        quotas = QuotaService(store, self.settings.quotas, bus, ownership, clock=clock)
        await quotas.start()
        stack.callback(quotas.close)
        approvals = ApprovalService(
            store,
            self.settings.approvals,
            fleet,
            bus,
            operators,
            # An edge's requests are its hub's to tell approvers of.
            attended=self.role == "edge" or approvers_can_be_told(self.settings),
            clock=clock,
            timers=timers,
        )
        await approvals.start()
        cache_root = self.settings.cache_root
        ensure_private_dir(cache_root)
        cache = CacheManager(store, self.settings.cache, cache_root, clock=clock)
        cache_writes = CacheWrites(cache, fleet, operators)
        await cache.start()
        cache_checks = CacheChecks(cache, bus, clock=clock)
        restarts = RestartService(self.settings.recovery, fleet, bus, clock=clock, timers=timers)
        stack.push_async_callback(restarts.close)
        serving: list[MonitorServer] = []
        diagnostics = Diagnostics(
            self.settings,
            store,
            fleet,
            http=lambda: http,
            connections=lambda: len(serving[0].connections) if serving else 0,
            clock=clock,
        )

        add_probes(
            diagnostics, cfg, operators=operators, approvals=approvals, fleet=fleet, quotas=quotas
        )
        web_sessions = WebSessions(store, self.settings.web, clock=clock)
        await web_sessions.start()
        outbox = EdgeOutbox(store)
        await outbox.start()
        hosts = None
        if self.role == "hub":
            recovery = self.settings.recovery
            hosts = HostsService(
                fleet,
                bus,
                timers,
                host_timeout=host_timeout(self.settings),
                restart_timeout=self.settings.nats.request_timeout
                + recovery.stop_wait
                + recovery.restart_wait
                + recovery.command_timeout,
                clock=clock,
            )
            hosts.start()
            stack.callback(hosts.close)
        if alerting.alertmanager is not None:
            diagnostics.add_probe("alertmanager", alerting.alertmanager.probe)
        usage = UsageService(
            store,
            guard,
            fleet,
            bus,
            prices=PriceTable(self.settings.quotas.price_table),
            clock=clock,
        )
        usage_totals = UsageTotalsService(store, usage, ownership, clock=clock)
        await usage_totals.start(retention.cutoff)
        replies = ReplyService(fleet, operators, approvals.config, bus)
        stack.callback(replies.close)
        services = Services(
            clock=clock,
            bus=bus,
            health=HealthService(store),
            ownership=ownership,
            fleet=fleet,
            agents=agents,
            sessions=SessionService(fleet, agents, bus, clock=clock),
            replies=replies,
            usage=usage,
            usage_totals=usage_totals,
            reports=ReportService(store, fleet, agents, clock=clock),
            silences=silences,
            alerts=router,
            delivery=delivery,
            retention=retention,
            self_metrics=SelfMetrics(store, clock=clock),
            quotas=quotas,
            approvals=approvals,
            operators=operators,
            cache=cache,
            cache_writes=cache_writes,
            restarts=restarts,
            diagnostics=diagnostics,
            cleanup=StaleCleanup(self.settings, store, fleet, cache, retention, clock=clock),
            timers=timers,
            web_sessions=web_sessions,
            alertmanager=alerting.alertmanager,
            outbox=outbox,
            hosts=hosts,
        )

        if http_socket is not None and self._http_door is not None:
            # Before the monitor socket, so its counters see every request.
            self.http_addresses = await serve_http(
                self._http_door, services, self.settings, http_socket, stack
            )
            # Login links may be handed out now that they lead somewhere.
            web_sessions.listening(self.settings.http.listen, self.http_addresses)
        server = (
            await serve_socket(self._socket_door, services, self.settings, store, stack)
            if cfg.enabled
            else None
        )
        serving += [server] if server is not None else []
        # Unwound before the server closes its connections: pending requests stay pending.
        stack.callback(approvals.shutdown)
        await restarts.start()  # the bots chatops runs itself, once the socket is up
        for link in self._links:  # other hosts, once this one is served
            self.links.append(await stack.enter_async_context(link(services, self.settings)))
        job_errors = timers.errors  # a timer's failure shows beside the jobs'
        # Heartbeat deadlines, approvals and restarts are timers; the sweep only looks for
        # vanished pids where the kernel cannot report an exit.
        sweep = [] if fleet.pids_watched else [Job("reap", fleet.reap, cfg.reap_interval)]
        scheduler = build_scheduler(
            [
                *sweep,
                Job("retention", retention.run, cfg.retention_interval, first_run_after=5),
                Job("sample_self", services.self_metrics.sample, cfg.metrics_interval),
                Job("alerts", router.tick, alerts_cfg.delivery_interval),
                Job("deliver_alerts", delivery.run_due, alerts_cfg.delivery_interval),
                Job("quotas", quotas.tick, self.settings.quotas.check_interval),
                Job("quota_history", quotas.compact, 3600, first_run_after=60),
                Job("web_sessions", web_sessions.save_seen, 60),
                Job(
                    "cache",
                    cache_checks.check,
                    self.settings.cache.check_interval_seconds,
                    first_run_after=5,
                ),
            ],
            job_errors,
        )
        scheduler.start()
        diagnostics.scheduler = SchedulerView(
            jobs=lambda: [
                (job.id, job.next_run_time.timestamp() if job.next_run_time else None)
                for job in scheduler.get_jobs()
            ],
            errors=job_errors,
        )
        stack.callback(scheduler.shutdown, wait=False)
        stack.push_async_callback(timers.close)  # first to stop, with the scheduler
        return _Running(services, store, server)
