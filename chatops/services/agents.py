"""Agents (the agent-monitoring seed): what each is doing, and how its tasks turn out."""

from __future__ import annotations

from chatops.models import AgentState
from chatops.peer import Peer
from chatops.protocol import AgentStatus, TaskResult
from chatops.services.idempotency import IdempotencyGuard
from chatops.store import Store
from chatops.timeutil import Clock, wall_clock


class AgentService:
    def __init__(self, store: Store, guard: IdempotencyGuard, *, clock: Clock = wall_clock) -> None:
        self._store = store
        self._guard = guard
        self._clock = clock
        self.agents: dict[str, AgentState] = {}

    async def start(self) -> None:
        self.agents = {agent.name: agent for agent in await self._store.load_agents()}

    def _agent(self, name: str, now: float) -> AgentState:
        agent = self.agents.get(name)
        if agent is None:
            agent = self.agents[name] = AgentState(name=name, status="idle", updated_at=now)
        return agent

    def update_status(self, peer: Peer, msg: AgentStatus) -> None:
        now = self._clock()
        agent = self._agent(msg.agent, now)
        agent.status = msg.status
        agent.current_task = msg.current_task
        agent.error_message = msg.error_message if msg.status == "error" else None
        agent.agent_type = msg.agent_type or agent.agent_type
        agent.channel = msg.channel or agent.channel
        agent.updated_at = now
        self._store.save_agent(agent)

    def task_result(self, peer: Peer, msg: TaskResult) -> None:
        now = self._clock()
        if msg.key is not None and not self._guard.claim(msg.key, now):
            return
        agent = self._agent(msg.agent, now)
        if msg.success:
            agent.tasks_completed += 1
        else:
            agent.tasks_failed += 1
        agent.updated_at = now
        self._store.add_task(
            msg.ts if msg.ts is not None else now,
            msg.agent,
            msg.task,
            msg.success,
            msg.duration_ms,
            msg.error_message,
        )
        self._store.save_agent(agent)

    def snapshot(self) -> list[AgentState]:
        return sorted(self.agents.values(), key=lambda agent: agent.name)
