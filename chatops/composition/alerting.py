"""The alert pipeline, composed: the outbox and its sinks, silences, the router, and every
feature's subscriber on the bus.

Built before any service starts (the fleet's start may already declare bots down), and torn down
with the controller's stack. What :func:`compose_alerts` returns is what the rest of the
composition needs: the router and delivery for :class:`~chatops.composition.services.Services`,
the silences (told later which names are bots), and the Alertmanager publisher when
``alerts.alertmanager_urls`` lists any (started later, once the fleet can say where each bot
runs: its ``host`` label).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass

import aiohttp

from chatops.alerts.alertmanager import AlertmanagerPublisher
from chatops.alerts.approvals import ApprovalAlerts
from chatops.alerts.cache import CacheAlerts
from chatops.alerts.delivery import AlertDelivery
from chatops.alerts.fleet import FleetAlerts
from chatops.alerts.hosts import HostAlerts
from chatops.alerts.quotas import QuotaAlerts
from chatops.alerts.restarts import RestartAlerts
from chatops.alerts.router import AlertRouter
from chatops.alerts.sessions import SessionAlerts
from chatops.alerts.silences import SilenceService
from chatops.alerts.sinks import Sink, WebhookSink
from chatops.config import Settings
from chatops.runtime.bus import EventBus
from chatops.runtime.timers import Timers
from chatops.services.operators import OperatorGate
from chatops.store import Store
from chatops.timeutil import Clock


@dataclass(frozen=True, slots=True)
class Alerting:
    delivery: AlertDelivery
    silences: SilenceService
    router: AlertRouter
    fleet: FleetAlerts
    alertmanager: AlertmanagerPublisher | None = None


async def compose_alerts(
    stack: AsyncExitStack,
    settings: Settings,
    *,
    store: Store,
    http: aiohttp.ClientSession,
    bus: EventBus,
    timers: Timers,
    operators: OperatorGate,
    extra_sinks: Sequence[Sink],
    clock: Clock,
) -> Alerting:
    """Start the alert pipeline; every step's teardown goes on ``stack``."""
    config = settings.alerts
    delivery = AlertDelivery(store, config, clock=clock, timers=timers)
    stack.push_async_callback(delivery.close)
    for url in config.webhook_urls:
        delivery.add_sink(
            WebhookSink(
                url.get_secret_value(),
                lambda: http,
                config.http_timeout,
                settings.discord.alert_role_id,
            )
        )
    for sink in extra_sinks:
        delivery.add_sink(sink)
    silences = SilenceService(
        store,
        clock=clock,
        operators=operators,
        decisions=settings.approvals.socket_decisions,
    )
    await silences.start()
    router = AlertRouter(store, config, delivery, silences, clock=clock)
    await router.start()
    alertmanager = None
    if config.alertmanager_urls:
        alertmanager = AlertmanagerPublisher(
            config, router, store, session=lambda: http, timers=timers, clock=clock
        )
        stack.push_async_callback(alertmanager.close)
    # Every feature's alerts come from its events on the bus: subscribed before any service
    # starts, so nothing a start publishes goes unheard.
    fleet_alerts = FleetAlerts(router, bus, config, clock=clock)
    stack.callback(fleet_alerts.close)
    stack.callback(QuotaAlerts(router, bus).close)
    stack.callback(HostAlerts(router, bus).close)
    stack.callback(ApprovalAlerts(router, bus).close)
    stack.callback(CacheAlerts(router, bus, repeat=settings.cache.warning_repeat).close)
    stack.callback(RestartAlerts(router, bus).close)
    stack.callback(SessionAlerts(router, bus, config).close)
    await delivery.start()
    return Alerting(delivery, silences, router, fleet_alerts, alertmanager)
