"""The controller's own health checks for ``chatops doctor``, composed from the services
they read: who may decide approvals from a shell, how close a uid is to its connection cap,
and whether the budgets are loaded yet."""

from __future__ import annotations

import os
from collections import Counter

from chatops.config import MonitoringConfig
from chatops.records.fleet import ALIVE_STATUSES
from chatops.services.approvals.service import ApprovalService
from chatops.services.fleet import FleetService
from chatops.services.operators import OperatorGate
from chatops.services.quotas.service import QuotaService
from chatops.services.recovery.diagnostics import Diagnostics
from chatops.services.recovery.probes import (
    Check,
    check_connections_per_uid,
    check_socket_decisions,
)


def add_probes(
    diagnostics: Diagnostics,
    cfg: MonitoringConfig,
    *,
    operators: OperatorGate,
    approvals: ApprovalService,
    fleet: FleetService,
    quotas: QuotaService,
) -> None:
    async def decisions_probe() -> Check:
        uids = operators.agent_uids()
        mode = approvals.config.socket_decisions
        return check_socket_decisions(mode, os.geteuid(), uids, cfg.socket_group)

    async def connections_probe() -> Check:
        alive = Counter(bot.uid for bot in fleet.bots.values() if bot.status in ALIVE_STATUSES)
        return check_connections_per_uid(alive, cfg.max_connections_per_uid)

    async def quotas_probe() -> Check:
        if quotas.loading:
            detail = "budgets loading: their totals are being rebuilt from the usage rows"
            return Check("quotas", "warning", None, detail)
        return Check("quotas", "ok", None, f"{len(quotas.budgets)} budgets loaded")

    diagnostics.add_probe("approvals", decisions_probe)
    diagnostics.add_probe("connections", connections_probe)
    diagnostics.add_probe("quotas", quotas_probe)
