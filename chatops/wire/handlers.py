"""The socket's door into the services: one handler per message type, one place to read it.

The same service methods back the CLI and the Discord cogs; only the shape of the answer is
decided here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from chatops import __version__
from chatops.models import AgentState, BotState
from chatops.services.agents import AgentService
from chatops.services.fleet import FleetService
from chatops.services.usage import UsageService
from chatops.wire.peer import Peer
from chatops.wire.protocol import (
    PROTOCOL_VERSION,
    AgentStatus,
    GetStatus,
    GetUsage,
    Heartbeat,
    Hello,
    LlmUsage,
    Ping,
    Register,
    TaskResult,
    Unregister,
)
from chatops.wire.server import Handler, Immediate
from chatops.wire.snapshots import SLICE, EncodedList


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


def build_handlers(
    fleet: FleetService,
    usage: UsageService,
    agents: AgentService,
    health: Callable[[], dict[str, Any]],
) -> dict[type, Handler]:
    def hello(peer: Peer, msg: Hello) -> Immediate:
        return Immediate({"protocol": PROTOCOL_VERSION, "server_version": __version__})

    def ping(peer: Peer, msg: Ping) -> Immediate:
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
    agents.on_change.append(agent_json.mark)

    def status_reply(channel: str | None) -> Immediate:
        if channel is None:
            bots = bot_json.all()
        else:
            bot = fleet.bots.get(channel)
            bots = b"[]" if bot is None else bot_json.one(bot)
        raw = (b'"bots":', bots, b',"agents":', agent_json.all())
        return Immediate({"type": "status", "controller": health()}, raw)

    async def status_after_refresh(channel: str | None) -> Immediate:
        await bot_json.refresh_gradually()
        await agent_json.refresh_gradually()
        return status_reply(channel)

    def get_status(peer: Peer, msg: GetStatus) -> Immediate | Awaitable[Immediate]:
        if max(bot_json.stale, agent_json.stale) <= SLICE:
            return status_reply(msg.channel)
        return status_after_refresh(msg.channel)  # much changed: encode it in slices

    return {
        Register: fleet.register,
        Heartbeat: fleet.heartbeat,
        Unregister: fleet.unregister,
        LlmUsage: usage.log_usage,
        GetStatus: get_status,
        GetUsage: usage.usage_stats,
        Hello: hello,
        Ping: ping,
        AgentStatus: agents.update_status,
        TaskResult: agents.task_result,
    }
