"""The web dashboard's sign-in over the socket: a one-time login link for the operator at the
shell (``chatops web login``), and the live sessions, listed and revoked (``chatops web
sessions``), all through the operator's narrow door
(:class:`~chatops.services.operators.OperatorGate`).

A link for an approver or an admin decides approval requests in the browser, so it follows
``approvals.socket_decisions`` exactly as deciding one from the shell does: by default only from
a process with a controlling terminal. Otherwise an agent's own shell tool, running as the
operator's uid, could ask for an admin link, open it with an HTTP client and approve its own
request. A viewer's link changes nothing and needs the operator's door alone.
"""

from __future__ import annotations

from typing import Any

from chatops.api.callers import Callers
from chatops.composition.services import Services
from chatops.records.web import Role, WebSession
from chatops.services.callers import Caller
from chatops.wire.outcomes import Committed, Handler, Immediate, Outcome
from chatops.wire.peer import Peer
from chatops.wire.protocol import ListWebSessions, RevokeWebSession, WebLogin


def session_to_dict(session: WebSession) -> dict[str, Any]:
    """A session as the socket shows it: never its token's hash (nothing to guess against)."""
    return {
        "id": session.id,
        "person": session.person,
        "role": str(session.role),
        "discord_id": session.discord_id,
        "created_at": session.created_at,
        "expires_at": session.expires_at,
        "last_seen_at": session.last_seen_at,
    }


def shell_person(caller: Caller) -> str:
    """Who a link from the shell is for, as the session list shows it: ``cli (uid 1000)``. No
    pid, unlike a decision's record: the session outlives the command that asked for it."""
    return f"cli (uid {caller.uid})" if caller.uid is not None else "cli"


def web_handlers(services: Services, callers: Callers) -> dict[type, Handler]:
    sessions = services.web_sessions
    operators = services.operators

    def login(peer: Peer, msg: WebLogin) -> Outcome:
        caller = callers.of(peer)
        role = Role(msg.role)
        if role is Role.VIEWER:
            operators.require(caller)
        else:
            operators.require_decider(caller, services.approvals.config.socket_decisions)
        link = sessions.login_link(shell_person(caller), role)
        # Answered once the link is on disk: it still opens after a controller restart.
        return Committed(
            {
                "url": link.url,
                "person": link.person,
                "role": str(link.role),
                "expires_at": link.expires_at,
                "link_minutes": sessions.config.link_minutes,
            }
        )

    def listing(peer: Peer, msg: ListWebSessions) -> Outcome:
        operators.require(callers.of(peer))
        return Immediate({"sessions": [session_to_dict(s) for s in sessions.sessions()]})

    def revoke(peer: Peer, msg: RevokeWebSession) -> Outcome:
        operators.require(callers.of(peer))
        return Committed({"session": session_to_dict(sessions.revoke(msg.session))})

    return {WebLogin: login, ListWebSessions: listing, RevokeWebSession: revoke}
