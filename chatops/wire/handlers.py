"""The socket's door into the services: one handler per request type, one place to read it.

The same service methods back the CLI and the Discord cogs; only the shape of the answer (and
when it is given, see :mod:`~chatops.wire.outcomes`) is decided here.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from chatops import __version__
from chatops.records.approvals import ApprovalRecord, Grant
from chatops.records.fleet import AgentState, BotState
from chatops.services.approvals.events import answer
from chatops.services.cache.manager import CacheError
from chatops.services.cache.views import entry_to_dict
from chatops.services.quotas.service import QuotaView
from chatops.services.recovery.requests import RecoveryRequests
from chatops.wire.outcomes import Committed, Handler, Immediate, Later, Outcome, after_commit
from chatops.wire.peer import Peer
from chatops.wire.protocol import (
    PROTOCOL_VERSION,
    AgentStatus,
    ApprovalRequest,
    CacheCreate,
    CacheExecute,
    CacheFinish,
    CacheList,
    CachePlan,
    CachePreview,
    CacheRegister,
    CleanupStale,
    DecideApproval,
    ErrorCode,
    GetCacheSummary,
    GetQuotaSummary,
    GetStatus,
    GetSystemMetrics,
    GetUsage,
    GetUsageTrends,
    HealthCheck,
    Heartbeat,
    Hello,
    ListApprovals,
    LlmUsage,
    ModelUsage,
    Orchestrate,
    Ping,
    ProtocolError,
    PushReply,
    Register,
    ResetStatusCache,
    RestartBot,
    RevokeGrant,
    RunDiagnostics,
    TaskResult,
    Unregister,
)
from chatops.wire.snapshots import SLICE, EncodedList

if TYPE_CHECKING:
    from chatops.runtime.controller import Services

QUERY_TIMEOUT = 30.0
"""How long a query may take before it is answered ``timeout``."""


def bot_to_dict(bot: BotState) -> dict[str, Any]:
    return {
        "channel": bot.channel,
        "pid": bot.pid,
        "status": str(bot.status),
        "host": bot.host,
        "features": bot.features,
        "registered_at": bot.registered_at,
        "last_heartbeat": bot.last_heartbeat,
        "status_changed_at": bot.status_changed_at,
        "rss_mb": bot.rss_mb,
        "cpu_pct": bot.cpu_pct,
    }


def agent_to_dict(agent: AgentState) -> dict[str, Any]:
    return {
        "name": agent.name,
        "agent_type": agent.agent_type,
        "channel": agent.channel,
        "status": agent.status,
        "current_task": agent.current_task,
        "error_message": agent.error_message,
        "tasks_completed": agent.tasks_completed,
        "tasks_failed": agent.tasks_failed,
        "success_rate": agent.success_rate,
        "updated_at": agent.updated_at,
    }


def quota_to_dict(view: QuotaView, now: float) -> dict[str, Any]:
    runway = view.runway
    return {
        "name": view.name,
        "kind": view.kind,
        "family": view.family,
        "models": list(view.models),
        "used": view.used,
        "limit": view.limit,
        "unit": view.unit,
        "pct_left": round(view.pct_left, 2),
        "level": view.level,
        "resets_at": view.resets_at,
        "span": view.span,
        "stale": view.stale,
        "burn_per_hour": runway.burn_per_hour,
        "exhausted_at": runway.exhausted_at,
        "lasts_until_reset": runway.lasts,
        "runway": runway.describe(now),
    }


def approval_to_dict(record: ApprovalRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "agent": record.agent,
        "action_type": record.action_type,
        "summary": record.summary,
        "policy": record.policy,
        "rule": record.rule,
        "reason": record.reason,
        "state": record.state,
        "via": record.via,
        "decided_by": record.decided_by,
        "decision_reason": record.decision_reason,
        "approvals": len(record.approvers),
        "approvals_required": record.approvals_required,
        "requested_at": record.requested_at,
        "expires_at": record.expires_at,
        "decided_at": record.decided_at,
        "wait_ms": record.wait_ms,
    }


def grant_to_dict(grant: Grant) -> dict[str, Any]:
    return {
        "id": grant.id,
        "agent": grant.agent,
        "action_type": grant.action_type,
        "until": grant.until,
        "created_by": grant.created_by,
        "created_at": grant.created_at,
    }


def build_handlers(services: Services) -> dict[type, Handler]:
    fleet, agents, usage, health = (
        services.fleet,
        services.agents,
        services.usage,
        services.health,
    )

    def hello(peer: Peer, msg: Hello) -> Outcome:
        return Immediate({"protocol": PROTOCOL_VERSION, "server_version": __version__})

    def ping(peer: Peer, msg: Ping) -> Outcome:
        return Immediate({"pong": True})

    bot_json = EncodedList[BotState](lambda bot: bot.channel, bot_to_dict)
    agent_json = EncodedList[AgentState](lambda agent: agent.name, agent_to_dict)
    for bot in fleet.bots.values():
        bot_json.mark(bot)
    for agent in agents.snapshot():
        agent_json.mark(agent)
    bot_json.refresh()
    agent_json.refresh()
    fleet.on_change.append(bot_json.mark)
    fleet.on_remove.append(bot_json.remove)
    agents.on_change.append(agent_json.mark)

    def status_reply(channel: str | None) -> Immediate:
        if channel is None:
            bots = bot_json.all()
        else:
            bot = fleet.bots.get(channel)
            bots = b"[]" if bot is None else bot_json.one(bot)
        raw = (b'"bots":', bots, b',"agents":', agent_json.all())
        controller = asdict(health.current())
        return Immediate({"type": "status", "controller": controller}, raw)

    async def status_after_refresh(channel: str | None) -> Immediate:
        await bot_json.refresh_gradually()
        await agent_json.refresh_gradually()
        return status_reply(channel)

    def get_status(peer: Peer, msg: GetStatus) -> Outcome:
        if max(bot_json.stale, agent_json.stale) <= SLICE:
            return status_reply(msg.channel)
        # Much changed: encode it in slices.
        return Later(status_after_refresh(msg.channel), QUERY_TIMEOUT)

    async def usage_totals(msg: GetUsage) -> dict[str, Any]:
        return asdict(await usage.totals(msg.channel, msg.days))

    def get_usage(peer: Peer, msg: GetUsage) -> Outcome:
        return Later(usage_totals(msg), QUERY_TIMEOUT)

    quotas = services.quotas

    def quota_summary(peer: Peer, msg: GetQuotaSummary) -> Outcome:
        now = services.clock()
        return Immediate({"quotas": [quota_to_dict(view, now) for view in quotas.summary()]})

    async def trends(msg: GetUsageTrends) -> dict[str, Any]:
        history = await quotas.trends(msg.minutes)
        return {"minutes": msg.minutes, "trends": {k: list(v) for k, v in history.items()}}

    def usage_trends(peer: Peer, msg: GetUsageTrends) -> Outcome:
        return Later(trends(msg), QUERY_TIMEOUT)

    def push_reply(peer: Peer, msg: PushReply) -> Outcome:
        if peer.link is None or not peer.link.answered(msg):
            raise ProtocolError(
                ErrorCode.NOT_FOUND, f"no push {msg.push_id} is waiting for an answer", msg.id
            )
        return Committed()

    approvals = services.approvals

    async def recent_approvals(msg: ListApprovals) -> dict[str, Any]:
        records = await approvals.get_recent_actions(msg.limit)
        return {"approvals": [approval_to_dict(r) for r in records]}

    def list_approvals(peer: Peer, msg: ListApprovals) -> Outcome:
        if not msg.pending_only:
            return Later(recent_approvals(msg), QUERY_TIMEOUT)
        pending = approvals.pending()[: msg.limit]
        return Immediate({"approvals": [approval_to_dict(r) for r in pending]})

    def decide_approval(peer: Peer, msg: DecideApproval) -> Outcome:
        if msg.grant is None:
            return Committed(answer(approvals.decide_from_socket(peer, msg)))
        record, grant = approvals.grant_from_socket(peer, msg, msg.grant)
        granted = None if grant is None else grant_to_dict(grant)
        return Committed({**answer(record), "grant": granted})

    def revoke_grant(peer: Peer, msg: RevokeGrant) -> Outcome:
        return Committed({"grant": grant_to_dict(approvals.revoke_from_socket(peer, msg))})

    cache, cache_door = services.cache, services.cache_requests
    recovery = RecoveryRequests(services)

    def cache_summary(peer: Peer, msg: GetCacheSummary) -> Outcome:
        return Immediate(cache.get_statistics())

    def cache_list(peer: Peer, msg: CacheList) -> Outcome:
        entries = cache.get_cache_entries()[: msg.limit]
        return Immediate({"entries": [entry_to_dict(e, cache.running(e)) for e in entries]})

    async def preview(msg: CachePreview) -> dict[str, Any]:
        try:
            return await cache.preview_cache_entry(msg.task_id, msg.lines)
        except CacheError as exc:
            raise ProtocolError(ErrorCode.NOT_FOUND, str(exc), msg.id) from None

    def cache_preview(peer: Peer, msg: CachePreview) -> Outcome:
        return Later(preview(msg), QUERY_TIMEOUT)

    return {
        Register: after_commit(fleet.register),
        Heartbeat: after_commit(fleet.heartbeat),
        Unregister: after_commit(fleet.unregister),
        LlmUsage: after_commit(usage.log_usage),
        AgentStatus: after_commit(agents.update_status),
        TaskResult: after_commit(agents.task_result),
        GetStatus: get_status,
        GetUsage: get_usage,
        Hello: hello,
        Ping: ping,
        PushReply: push_reply,
        ModelUsage: after_commit(quotas.report_usage),
        GetQuotaSummary: quota_summary,
        GetUsageTrends: usage_trends,
        ApprovalRequest: approvals.handle,
        ListApprovals: list_approvals,
        DecideApproval: decide_approval,
        RevokeGrant: revoke_grant,
        CacheCreate: cache_door.create,
        CacheRegister: cache_door.register,
        CacheFinish: cache_door.finish,
        GetCacheSummary: cache_summary,
        CacheList: cache_list,
        CachePreview: cache_preview,
        CachePlan: cache_door.plan,
        CacheExecute: cache_door.execute,
        RunDiagnostics: recovery.diagnostics,
        HealthCheck: recovery.health,
        GetSystemMetrics: recovery.metrics,
        RestartBot: recovery.restart,
        ResetStatusCache: recovery.reset_status,
        CleanupStale: recovery.cleanup,
        Orchestrate: recovery.orchestrate,
    }
