"""Coding-agent sessions over the socket: ``agent_session`` from ``chatops hook`` and
``chatops statusline`` (see :mod:`chatops.services.sessions`)."""

from __future__ import annotations

from chatops.api.callers import Callers
from chatops.composition.services import Services
from chatops.wire.agent_requests import AgentSession
from chatops.wire.outcomes import COMMITTED, Handler, Outcome
from chatops.wire.peer import Peer


def session_handlers(services: Services, callers: Callers) -> dict[type, Handler]:
    sessions = services.sessions

    def agent_session(peer: Peer, msg: AgentSession) -> Outcome:
        sessions.event(
            callers.of(peer),
            msg.agent,
            msg.pid,
            msg.event,
            msg.kind,
            session_id=msg.session_id,
            cwd=msg.cwd,
            model=msg.model,
            tool=msg.tool,
            cost_usd=msg.cost_usd,
            context_pct=msg.context_pct,
            message=msg.message,
            reason=msg.reason,
        )
        return COMMITTED

    return {AgentSession: agent_session}
