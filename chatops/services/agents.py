"""Agents (the agent-monitoring seed): what each is doing, and how its tasks turn out.

Agents are not registered: an agent name belongs to the connection that first reports it, until
that connection closes. Only the owner, or a connection opened by the owner's process or one of
its descendants, may report for it; an event naming a registered bot (``channel``) must also
come from that bot's owner.
"""

from __future__ import annotations

from collections.abc import Callable

from chatops.records.fleet import AgentState
from chatops.services.fleet import FleetService
from chatops.services.idempotency import IdempotencyGuard
from chatops.store import Store
from chatops.timeutil import Clock, wall_clock
from chatops.wire.peer import Peer, is_self_or_descendant
from chatops.wire.protocol import (
    AgentStatus,
    ErrorCode,
    ProtocolError,
    RequestId,
    TaskResult,
)


class AgentService:
    def __init__(
        self,
        store: Store,
        guard: IdempotencyGuard,
        fleet: FleetService,
        *,
        clock: Clock = wall_clock,
    ) -> None:
        self._store = store
        self._guard = guard
        self._fleet = fleet
        self._clock = clock
        self.agents: dict[str, AgentState] = {}
        self._owner: dict[str, Peer] = {}
        self._sorted: list[str] | None = None
        self.on_change: list[Callable[[AgentState], None]] = []

    def connection_lost(self, peer: Peer) -> None:
        for name in [name for name, owner in self._owner.items() if owner is peer]:
            del self._owner[name]

    def _authorize(
        self, peer: Peer, agent: str, channel: str | None, request_id: RequestId
    ) -> None:
        if channel is not None:
            self._fleet.authorize(peer, channel, request_id)
        owner = self._owner.get(agent)
        if owner is None:
            self._owner[agent] = peer
            return
        if owner is peer:
            return
        same_process = (
            peer.pid is not None
            and owner.pid is not None
            and peer.local
            and is_self_or_descendant(peer.pid, owner.pid)
        )
        if not same_process:
            raise ProtocolError(
                ErrorCode.PERMISSION_DENIED,
                f"agent {agent!r} is reported by another live connection ({owner.describe()})",
                request_id,
            )

    async def start(self) -> None:
        self.agents = {agent.name: agent for agent in await self._store.agents.load_agents()}

    def _agent(self, name: str, now: float) -> AgentState:
        agent = self.agents.get(name)
        if agent is None:
            agent = self.agents[name] = AgentState(name=name, status="idle", updated_at=now)
        return agent

    def update_status(self, peer: Peer, msg: AgentStatus) -> None:
        self._authorize(peer, msg.agent, msg.channel, msg.id)
        now = self._clock()
        agent = self._agent(msg.agent, now)
        agent.status = msg.status
        agent.current_task = msg.current_task
        agent.error_message = msg.error_message if msg.status == "error" else None
        agent.agent_type = msg.agent_type or agent.agent_type
        agent.channel = msg.channel or agent.channel
        agent.updated_at = now
        self._store.agents.save_agent(agent)
        for listener in self.on_change:
            listener(agent)

    def task_result(self, peer: Peer, msg: TaskResult) -> None:
        agent_state = self.agents.get(msg.agent)
        self._authorize(peer, msg.agent, agent_state.channel if agent_state else None, msg.id)
        accepted = self._guard.accept(msg.ts, msg.key, msg.id)
        if accepted is None:
            return
        now = accepted.received_at
        agent = self._agent(msg.agent, now)
        if msg.success:
            agent.tasks_completed += 1
        else:
            agent.tasks_failed += 1
        agent.updated_at = now
        self._store.agents.add_task(
            accepted.ts,
            msg.agent,
            msg.task,
            msg.success,
            msg.duration_ms,
            msg.error_message,
            key=msg.key,
            received_at=now,
        )
        self._store.agents.save_agent(agent)
        for listener in self.on_change:
            listener(agent)

    def of_channel(self, channel: str) -> list[AgentState]:
        """The agents that run as, or report for, the bot ``channel``."""
        return [a for a in self.snapshot() if channel in (a.name, a.channel)]

    def snapshot(self) -> list[AgentState]:
        agents = self.agents
        if self._sorted is None or len(self._sorted) != len(agents):
            self._sorted = sorted(agents)
        return [agents[name] for name in self._sorted]
