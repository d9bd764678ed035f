"""Recovery and the seed's orchestrator calls over the socket. Restart, status reset and
cleanup go through the operator's narrow door; the orchestrator's admin calls need an agent
that this connection registered and that ``recovery.admin_agents`` names."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from chatops.wire.outcomes import Immediate, Later, Outcome
from chatops.wire.peer import Peer
from chatops.wire.protocol import (
    ADMIN_CALLS,
    CleanupStale,
    ErrorCode,
    GetSystemMetrics,
    HealthCheck,
    Orchestrate,
    ProtocolError,
    RequestId,
    ResetStatusCache,
    RestartBot,
    RunDiagnostics,
)

if TYPE_CHECKING:
    from chatops.runtime.controller import Services

SLOW = 120.0


class RecoveryRequests:
    def __init__(self, services: Services) -> None:
        self._services = services

    def diagnostics(self, peer: Peer, msg: RunDiagnostics) -> Outcome:
        async def run() -> dict[str, Any]:
            from chatops.services.recovery.probes import summarise

            checks = await self._services.diagnostics.run_diagnostics()
            return {"checks": [asdict(c) for c in checks], "summary": summarise(checks)}

        return Later(run(), SLOW)

    def health(self, peer: Peer, msg: HealthCheck) -> Outcome:
        return Later(self._services.diagnostics.health_check(), SLOW)

    def metrics(self, peer: Peer, msg: GetSystemMetrics) -> Outcome:
        return Immediate(self._services.diagnostics.get_system_metrics())

    def restart(self, peer: Peer, msg: RestartBot) -> Outcome:
        self._operator(peer, msg.id)
        who = f"cli (uid {peer.uid}, pid {peer.pid})"

        async def run() -> dict[str, Any]:
            from chatops.services.recovery.restarts import RestartError

            try:
                report = await self._services.restarts.restart(msg.channel, by=who)
            except RestartError as exc:
                raise ProtocolError(ErrorCode.NOT_FOUND, str(exc), msg.id) from None
            return report.to_dict()  # a failed restart is still a successful request

        return Later(run(), SLOW)

    def reset_status(self, peer: Peer, msg: ResetStatusCache) -> Outcome:
        self._operator(peer, msg.id)
        return Later(self._services.fleet.reset_status_cache(), SLOW)

    def cleanup(self, peer: Peer, msg: CleanupStale) -> Outcome:
        if not msg.dry_run:
            self._operator(peer, msg.id)
        return Later(self._services.cleanup.cleanup_stale_resources(dry_run=msg.dry_run), SLOW)

    def orchestrate(self, peer: Peer, msg: Orchestrate) -> Outcome:
        services = self._services
        if msg.call in ADMIN_CALLS:
            allowed = services.restarts.config.admin_agents
            agent = msg.agent
            if agent is None or agent not in allowed or not services.fleet.may_speak(peer, agent):
                raise ProtocolError(
                    ErrorCode.PERMISSION_DENIED,
                    f"{msg.call} is an admin call: the agent must be a bot this connection "
                    "registered and listed in recovery.admin_agents",
                    msg.id,
                )
        return Later(self._call(msg), SLOW)

    async def _call(self, msg: Orchestrate) -> dict[str, Any]:
        from chatops.services.cache.views import result_to_dict

        services = self._services
        if msg.call == "get_dashboard_data":
            from chatops.wire.dashboard import dashboard_data

            return await dashboard_data(services)
        if msg.call == "get_auto_accept_stats":
            return await services.approvals.get_statistics()
        if msg.call == "toggle_auto_accept":
            enabled = msg.args.get("enabled")
            state = services.approvals.toggle(
                enabled if isinstance(enabled, bool) else None, by=f"agent {msg.agent}"
            )
            return {"enabled": state}
        cache = services.cache
        if msg.call == "auto_clean_cache":
            result = await cache.execute(cache.plan_clean())
        else:
            result = await cache.clear_all_cache()
        return result_to_dict(result, cache.total)

    def _operator(self, peer: Peer, request_id: RequestId) -> None:
        self._services.operators.require(peer, request_id)
