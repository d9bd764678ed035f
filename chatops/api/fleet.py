"""The fleet over the socket: register, heartbeat, unregister, agents' reports, status.

``get_status`` answers from pre-encoded JSON (:class:`~chatops.wire.snapshots.EncodedList`),
re-encoding only the bots and agents that changed since the last read."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from chatops.api.callers import Callers
from chatops.composition.services import Services
from chatops.records.fleet import AgentState, BotState
from chatops.wire.outcomes import COMMITTED, NOTED, Committed, Handler, Immediate, Later, Outcome
from chatops.wire.peer import Peer
from chatops.wire.protocol import (
    AgentStatus,
    GetStatus,
    Heartbeat,
    Register,
    TaskResult,
    Unregister,
)
from chatops.wire.snapshots import SLICE, EncodedList

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
    """An agent as ``get_status`` and ``chatops status --json`` give it; ``session`` holds a
    coding-agent session's facts (cwd, model, cost_usd, context_pct, waiting), null for an
    agent that reports through the client library."""
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
        "session": None if agent.session is None else asdict(agent.session),
    }


def fleet_handlers(services: Services, callers: Callers) -> dict[type, Handler]:
    fleet, agents, health = services.fleet, services.agents, services.health

    def register(peer: Peer, msg: Register) -> Outcome:
        status = fleet.register(callers.of(peer), msg.channel, msg.pid, msg.features, msg.host)
        return Committed({"status": str(status)})

    def heartbeat(peer: Peer, msg: Heartbeat) -> Outcome:
        stored = fleet.heartbeat(callers.of(peer), msg.channel, msg.ts, msg.rss_mb, msg.cpu_pct)
        return COMMITTED if stored else NOTED

    def unregister(peer: Peer, msg: Unregister) -> Outcome:
        fleet.unregister(callers.of(peer), msg.channel)
        return COMMITTED

    def agent_status(peer: Peer, msg: AgentStatus) -> Outcome:
        agents.update_status(
            callers.of(peer),
            msg.agent,
            msg.status,
            agent_type=msg.agent_type,
            channel=msg.channel,
            current_task=msg.current_task,
            error_message=msg.error_message,
        )
        return COMMITTED

    def task_result(peer: Peer, msg: TaskResult) -> Outcome:
        agents.task_result(
            callers.of(peer),
            msg.agent,
            msg.success,
            task=msg.task,
            duration_ms=msg.duration_ms,
            error_message=msg.error_message,
            key=msg.key,
            ts=msg.ts,
        )
        return COMMITTED

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

    return {
        Register: register,
        Heartbeat: heartbeat,
        Unregister: unregister,
        AgentStatus: agent_status,
        TaskResult: task_result,
        GetStatus: get_status,
    }
