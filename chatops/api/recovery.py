"""Recovery and the orchestrator calls (``orchestrate``) over the socket. Restart, status
reset and cleanup go through the operator's narrow door; the orchestrator's admin calls need an
agent that this connection registered and that ``recovery.admin_agents`` names."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from chatops.api.cache_views import result_to_dict
from chatops.api.callers import Callers
from chatops.api.dashboard import dashboard_data
from chatops.composition.services import Services
from chatops.services.errors import Invalid, Refused
from chatops.services.recovery.cleanup import CleanupPlan
from chatops.services.recovery.probes import summarise
from chatops.wire.outcomes import Handler, Immediate, Later, Outcome
from chatops.wire.peer import Peer
from chatops.wire.protocol import (
    ADMIN_CALLS,
    CleanupExecute,
    CleanupStale,
    GetSystemMetrics,
    HealthCheck,
    HostRevoked,
    Orchestrate,
    ResetStatusCache,
    RestartBot,
    RunDiagnostics,
)

SLOW = 120.0


def recovery_handlers(services: Services, callers: Callers) -> dict[type, Handler]:
    operators = services.operators

    async def checks() -> dict[str, Any]:
        found = await services.diagnostics.run_diagnostics()
        return {"checks": [asdict(c) for c in found], "summary": summarise(found)}

    def diagnostics(peer: Peer, msg: RunDiagnostics) -> Outcome:
        return Later(checks(), SLOW)

    def health(peer: Peer, msg: HealthCheck) -> Outcome:
        return Later(services.diagnostics.health_check(), SLOW)

    def metrics(peer: Peer, msg: GetSystemMetrics) -> Outcome:
        return Immediate(services.diagnostics.get_system_metrics())

    async def restarted(channel: str, who: str) -> dict[str, Any]:
        report = await services.restarts.restart(channel, by=who)
        return report.to_dict()  # a failed restart is still a successful request

    def restart(peer: Peer, msg: RestartBot) -> Outcome:
        caller = callers.of(peer)
        operators.require(caller)
        return Later(restarted(msg.channel, f"cli (uid {caller.uid}, pid {caller.pid})"), SLOW)

    def host_revoked(peer: Peer, msg: HostRevoked) -> Outcome:
        operators.require(callers.of(peer))
        if services.hosts is None:
            raise Invalid("this controller is not a hub (nats.url): it has no other hosts")
        return Immediate({"host": msg.host, "bots": services.hosts.revoked(msg.host)})

    def reset_status(peer: Peer, msg: ResetStatusCache) -> Outcome:
        operators.require(callers.of(peer))
        return Later(reset_statuses(), SLOW)

    async def reset_statuses() -> dict[str, Any]:
        return asdict(await services.fleet.reset_statuses())

    async def planned() -> dict[str, Any]:
        plan = await services.cleanup.plan()
        # With each bot's status time, so the plan can be sent back as shown (cleanup_execute).
        return {**plan.report(dry_run=True).to_dict(), "stale_since": dict(plan.stale_bots)}

    def cleanup(peer: Peer, msg: CleanupStale) -> Outcome:
        if msg.dry_run:
            return Later(planned(), SLOW)
        operators.require(callers.of(peer))
        return Later(services.cleanup.cleanup_stale_resources(dry_run=False), SLOW)

    async def carried_out(plan: CleanupPlan) -> dict[str, Any]:
        return (await services.cleanup.execute(plan)).to_dict()

    def cleanup_execute(peer: Peer, msg: CleanupExecute) -> Outcome:
        operators.require(callers.of(peer))
        plan = CleanupPlan(
            stale_bots=dict(msg.stale_bots),
            dead_sockets=tuple(Path(path) for path in msg.dead_sockets),
            orphan_cache_folders=tuple(msg.orphan_cache_folders),
            vacuum=msg.vacuum,
            database_bytes=0,
            free_bytes=0,
        )
        return Later(carried_out(plan), SLOW)

    async def call(msg: Orchestrate) -> dict[str, Any]:
        if msg.call == "get_dashboard_data":
            return await dashboard_data(services)
        if msg.call == "get_auto_accept_stats":
            return await services.approvals.controls.get_statistics()
        if msg.call == "toggle_auto_accept":
            enabled = msg.args.get("enabled")
            state = services.approvals.controls.toggle(
                enabled if isinstance(enabled, bool) else None, by=f"agent {msg.agent}"
            )
            return {"enabled": state}
        cache = services.cache
        if msg.call == "auto_clean_cache":
            result = await cache.execute(cache.plan_clean())
        else:
            result = await cache.clear_all_cache()
        return result_to_dict(result, cache.total)

    def orchestrate(peer: Peer, msg: Orchestrate) -> Outcome:
        if msg.call in ADMIN_CALLS:
            allowed = services.restarts.config.admin_agents
            agent = msg.agent
            speaks = agent is not None and services.fleet.ownership.may_speak(
                callers.of(peer), agent
            )
            if agent not in allowed or not speaks:
                raise Refused(
                    f"{msg.call} is an admin call: the agent must be a bot this connection "
                    "registered and listed in recovery.admin_agents"
                )
        return Later(call(msg), SLOW)

    return {
        RunDiagnostics: diagnostics,
        HealthCheck: health,
        GetSystemMetrics: metrics,
        RestartBot: restart,
        ResetStatusCache: reset_status,
        HostRevoked: host_revoked,
        CleanupStale: cleanup,
        CleanupExecute: cleanup_execute,
        Orchestrate: orchestrate,
    }
