"""AI agents: what each is doing (``agent_status``), and how its tasks turn out (``task_result``).

Agents are not registered: an agent name belongs to the process that first reports it (see
:mod:`chatops.services.ownership`), stored with the agent so that a controller restart does not
hand it to the next reporter; an event naming a registered bot (``channel``) must also come from
that bot's owner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from chatops.records.fleet import AgentState, SessionInfo
from chatops.services.callers import Caller
from chatops.services.fleet import FleetService
from chatops.services.idempotency import IdempotencyGuard
from chatops.store import Store
from chatops.timeutil import Clock, wall_clock


@dataclass(frozen=True, slots=True)
class TaskReported:
    ts: float
    agent: str
    success: bool
    task: str | None
    duration_ms: int | None
    error_message: str | None


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
        self._ownership = fleet.ownership
        self._sorted: list[str] | None = None
        self.on_change: list[Callable[[AgentState], None]] = []
        self.on_task: list[Callable[[TaskReported], None]] = []
        """Called with every task result stored (not a replay): an edge tells its hub."""

    def _authorize(self, caller: Caller, agent: str, channel: str | None) -> int | None:
        """Refuse a report ``caller`` may not make; the pid that owns the agent."""
        if channel is not None:
            self._ownership.authorize(caller, channel)
        return self._ownership.claim_agent(caller, agent)

    async def start(self) -> None:
        self.agents = {agent.name: agent for agent in await self._store.agents.load_agents()}
        for agent in self.agents.values():
            self._ownership.remember_agent(agent.name, agent.owner_pid)

    def _agent(self, name: str, now: float) -> AgentState:
        agent = self.agents.get(name)
        if agent is None:
            agent = self.agents[name] = AgentState(name=name, status="idle", updated_at=now)
        return agent

    def update_status(
        self,
        caller: Caller,
        name: str,
        status: Literal["idle", "processing", "error"],
        *,
        agent_type: str | None = None,
        channel: str | None = None,
        current_task: str | None = None,
        error_message: str | None = None,
    ) -> None:
        stored = self.agents.get(name)
        owner_pid = self._authorize(caller, name, channel or (stored.channel if stored else None))
        now = self._clock()
        agent = self._agent(name, now)
        agent.status = status
        agent.current_task = current_task
        agent.error_message = error_message if status == "error" else None
        agent.agent_type = agent_type or agent.agent_type
        agent.channel = channel or agent.channel
        agent.owner_pid = owner_pid
        agent.updated_at = now
        self._store.agents.save_agent(agent)
        for listener in self.on_change:
            listener(agent)

    def update_session(
        self,
        name: str,
        pid: int,
        kind: str,
        status: Literal["idle", "processing", "error"],
        *,
        session_id: str | None,
        facts: dict[str, object],
        current_task: str | None,
        error_message: str | None = None,
    ) -> AgentState:
        """A coding-agent session's agent, from its hooks: the session (its bot ``name``, run by
        ``pid``) was registered by :mod:`chatops.services.sessions`, which checked that the
        hook descends from ``pid``; the agent is owned by the same process. ``facts`` are the
        :class:`SessionInfo` fields the hook knew this time (others are kept)."""
        now = self._clock()
        agent = self._agent(name, now)
        self._ownership.remember_agent(name, pid)
        info = agent.session
        if info is None or (session_id is not None and info.session_id != session_id):
            info = agent.session = SessionInfo(session_id=session_id)
        for field_name, value in facts.items():
            if value is not None:
                setattr(info, field_name, value)
        agent.status = status
        agent.agent_type = kind
        agent.channel = name
        agent.owner_pid = pid
        agent.current_task = current_task if current_task is not None else agent.current_task
        agent.error_message = error_message if status == "error" else None
        agent.updated_at = now
        self._store.agents.save_agent(agent)
        for listener in self.on_change:
            listener(agent)
        return agent

    def task_result(
        self,
        caller: Caller,
        name: str,
        success: bool,
        *,
        task: str | None = None,
        duration_ms: int | None = None,
        error_message: str | None = None,
        key: str | None = None,
        ts: float | None = None,
    ) -> None:
        stored = self.agents.get(name)
        owner_pid = self._authorize(caller, name, stored.channel if stored else None)
        accepted = self._guard.accept(ts, key)
        if accepted is None:
            return
        now = accepted.received_at
        agent = self._agent(name, now)
        agent.owner_pid = owner_pid
        if success:
            agent.tasks_completed += 1
        else:
            agent.tasks_failed += 1
        agent.updated_at = now
        self._store.agents.add_task(
            accepted.ts,
            name,
            task,
            success,
            duration_ms,
            error_message,
            key=key,
            received_at=now,
        )
        self._store.agents.save_agent(agent)
        for listener in self.on_change:
            listener(agent)
        reported = TaskReported(accepted.ts, name, success, task, duration_ms, error_message)
        for task_listener in self.on_task:
            task_listener(reported)

    def of_channel(self, channel: str) -> list[AgentState]:
        """The agents that run as, or report for, the bot ``channel``."""
        return [a for a in self.snapshot() if channel in (a.name, a.channel)]

    def snapshot(self) -> list[AgentState]:
        agents = self.agents
        if self._sorted is None or len(self._sorted) != len(agents):
            self._sorted = sorted(agents)
        return [agents[name] for name in self._sorted]
