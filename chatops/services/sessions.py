"""Coding-agent sessions (Claude Code, Codex) as fleet members, with no agent code.

A session's hooks and status line send ``agent_session`` events for it. The session is a bot
named after it, run by the session's own process: the hook's nearest ancestor that is not a
shell. The kernel vouches for that claim on every event (the connecting process must descend
from the session's pid), so a hook can speak for its own session and nobody else can — not
another session, not a process outside the session's tree.

Its liveness is its process's, watched by the fleet: the session sends no heartbeats (it may
wait an hour for its operator), its hooks' connections are brief, and only the process's exit
without an ``end`` event raises a down alert. ``end`` (``SessionEnd``) takes it out of the
fleet cleanly.

What it is doing is its agent's record (same name): cwd, model, the tool it last used, cost and
context so far. Waiting for its operator, finishing its turn and failing are published on the
bus (:mod:`chatops.records.sessions`) for the alerts and the reply doors.
"""

from __future__ import annotations

from typing import Literal

from chatops.records.fleet import SESSION_FEATURE, BotStatus, is_session
from chatops.records.sessions import (
    SessionActive,
    SessionFailed,
    SessionFinished,
    SessionResumed,
    SessionWaiting,
)
from chatops.runtime.ancestry import parent_of, session_process
from chatops.runtime.bus import EventBus
from chatops.services.agents import AgentService
from chatops.services.approvals.preview import mask_secrets
from chatops.services.callers import Caller
from chatops.services.errors import NotFound, Refused
from chatops.services.fleet import FleetService
from chatops.timeutil import Clock, wall_clock

SessionEventName = Literal["start", "activity", "waiting", "finished", "failed", "end"]
MESSAGE_CHARS = 1500
"""How much of what a session says is kept for an alert (its first lines)."""


class SessionService:
    def __init__(
        self,
        fleet: FleetService,
        agents: AgentService,
        bus: EventBus,
        *,
        clock: Clock = wall_clock,
    ) -> None:
        self._fleet = fleet
        self._agents = agents
        self._bus = bus
        self._clock = clock

    def event(
        self,
        caller: Caller,
        agent: str,
        pid: int,
        event: SessionEventName,
        kind: str,
        *,
        session_id: str | None = None,
        cwd: str | None = None,
        model: str | None = None,
        tool: str | None = None,
        cost_usd: float | None = None,
        context_pct: float | None = None,
        message: str | None = None,
        reason: str | None = None,
    ) -> None:
        """Take one event of the session ``agent`` run by ``pid``, from its hook ``caller``."""
        if caller.pid is None or not caller.local:
            raise Refused("a coding-agent session speaks through a hook on its own host")
        _require_own_session(caller.pid, pid)
        self._fleet.ownership.claim_agent(caller, agent)  # a live agent's name is not taken
        if event == "end":
            self._end(caller, agent, pid, kind, reason)
            return
        self._join(caller, agent, pid, kind)
        was_waiting = self._waiting(agent)
        said = _shown(message)
        status: Literal["idle", "processing", "error"] = "processing"
        if event in ("start", "waiting", "finished"):
            status = "idle"
        elif event == "failed":
            status = "error"
        self._agents.update_session(
            agent,
            pid,
            kind,
            status,
            session_id=session_id,
            facts={
                "cwd": cwd,
                "model": model,
                "cost_usd": cost_usd,
                "context_pct": context_pct,
                "waiting": event == "waiting",
            },
            current_task=tool,
            error_message=_shown(f"{reason or 'failed'}: {message or ''}")
            if status == "error"
            else None,
        )
        now = self._clock()
        if was_waiting and event != "waiting":
            self._bus.publish(SessionResumed(ts=now, agent=agent))
        if event == "start" or (event == "activity" and tool is not None):
            # It acted (a new start, a tool): a reply kept from before is stale. A status
            # line's redraw (activity, no tool) is no act of the session's.
            self._bus.publish(SessionActive(ts=now, agent=agent))
        elif event == "waiting":
            self._bus.publish(SessionWaiting(ts=now, agent=agent, kind=kind, message=said))
        elif event == "finished":
            self._bus.publish(SessionFinished(ts=now, agent=agent, kind=kind, message=said))
        elif event == "failed":
            failure = SessionFailed(
                ts=now, agent=agent, kind=kind, reason=reason or "unknown", message=said
            )
            self._bus.publish(failure)

    def _join(self, caller: Caller, agent: str, pid: int, kind: str) -> None:
        """Register the session, or see it again: its process is watched from the first event
        (a session whose ``SessionStart`` hook was not installed joins at its first hook)."""
        bot = self._fleet.bots.get(agent)
        if bot is not None and bot.pid == pid and is_session(bot):
            self._fleet.ownership.authorize(caller, agent)
            if bot.status is BotStatus.ONLINE:
                self._fleet.seen(bot)
                return
        self._fleet.register(caller, agent, pid, {SESSION_FEATURE: kind}, session=True)

    def _end(self, caller: Caller, agent: str, pid: int, kind: str, reason: str | None) -> None:
        bot = self._fleet.bots.get(agent)
        if bot is None or not is_session(bot) or bot.pid != pid:
            raise NotFound(f"no session {agent!r} of pid {pid} to end")
        self._fleet.unregister(caller, agent, why=f"session ended ({reason or 'no reason'})")
        was_waiting = self._waiting(agent)
        self._agents.update_session(
            agent,
            pid,
            kind,
            "idle",
            session_id=None,
            facts={"waiting": False},
            current_task=None,
        )
        if was_waiting:
            self._bus.publish(SessionResumed(ts=self._clock(), agent=agent))

    def _waiting(self, agent: str) -> bool:
        state = self._agents.agents.get(agent)
        return state is not None and state.session is not None and state.session.waiting


def _require_own_session(hook: int, pid: int) -> None:
    """Refuse a hook naming any process but its own session: the one the controller finds by
    the same walk from the hook's pid (which the kernel vouches for), or the hook itself. Not
    any ancestor (a terminal multiplexer, an init process): a session is no claim on them."""
    parent = parent_of(hook)
    expected = session_process(parent) if parent is not None else None
    if pid <= 1 or pid not in (hook, expected):
        raise Refused(
            f"pid {pid} is not the session this hook runs in (its nearest ancestor that is not "
            f"a shell is {expected})"
        )


def _shown(text: str | None) -> str:
    """What a session said, fit to be shown: secrets masked, the first lines only."""
    return mask_secrets(text or "")[:MESSAGE_CHARS]
