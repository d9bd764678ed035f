"""The started services, as one frozen record: what every door is handed."""

from __future__ import annotations

from dataclasses import dataclass

from chatops.alerts.alertmanager import AlertmanagerPublisher
from chatops.alerts.delivery import AlertDelivery
from chatops.alerts.router import AlertRouter
from chatops.alerts.silences import SilenceService
from chatops.runtime.bus import EventBus
from chatops.runtime.timers import Timers
from chatops.services.agents import AgentService
from chatops.services.approvals.service import ApprovalService
from chatops.services.cache.manager import CacheManager
from chatops.services.cache.writes import CacheWrites
from chatops.services.fleet import FleetService
from chatops.services.health import HealthService
from chatops.services.hosts import HostsService
from chatops.services.operators import OperatorGate
from chatops.services.outbox import EdgeOutbox
from chatops.services.ownership import Ownership
from chatops.services.quotas.service import QuotaService
from chatops.services.recovery.cleanup import StaleCleanup
from chatops.services.recovery.diagnostics import Diagnostics
from chatops.services.recovery.restarts import RestartService
from chatops.services.replies import ReplyService
from chatops.services.reports import ReportService
from chatops.services.retention import RetentionService
from chatops.services.selfmetrics import SelfMetrics
from chatops.services.sessions import SessionService
from chatops.services.usage import UsageService
from chatops.services.usage_totals import UsageTotalsService
from chatops.services.web_sessions import WebSessions
from chatops.timeutil import Clock


@dataclass(frozen=True, slots=True)
class Services:
    """The started services. Front ends (the socket's handlers, cogs, the CLI) get this record
    and nothing else: never the store."""

    clock: Clock
    bus: EventBus
    health: HealthService
    ownership: Ownership
    fleet: FleetService
    agents: AgentService
    sessions: SessionService
    """Coding-agent sessions (Claude Code, Codex) as fleet members, fed by their hooks."""
    replies: ReplyService
    """An operator's words for a session, held until its own ``Stop`` hook takes them."""
    usage: UsageService
    usage_totals: UsageTotalsService
    """Coding agents' running totals, stored as their increase (``usage_totals``)."""
    reports: ReportService
    silences: SilenceService
    alerts: AlertRouter
    delivery: AlertDelivery
    retention: RetentionService
    self_metrics: SelfMetrics
    quotas: QuotaService
    approvals: ApprovalService
    operators: OperatorGate
    cache: CacheManager
    cache_writes: CacheWrites
    restarts: RestartService
    diagnostics: Diagnostics
    cleanup: StaleCleanup
    timers: Timers
    """Every service's keyed deadlines, on ``clock``: a test that advances a fake clock calls
    ``timers.run_due()``."""
    web_sessions: WebSessions
    outbox: EdgeOutbox
    """On an edge, the events its hub has not stored yet."""
    hosts: HostsService | None = None
    """On a hub (``nats.url`` set on ``chatops run``), the edges and their bots."""
    alertmanager: AlertmanagerPublisher | None = None
    """Posts the open incidents to each Alertmanager (None: ``alerts.alertmanager_urls`` is
    empty); its ``instances`` carry each one's figures."""


class NotStarted(RuntimeError):
    """A front end asked for services before the controller started (or after it stopped)."""
