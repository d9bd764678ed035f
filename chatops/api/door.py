"""The socket door: the handler table the monitor server is handed, and what the door does
when a connection closes. One module per domain builds its part of the table."""

from __future__ import annotations

from chatops import __version__
from chatops.api.approvals import approval_handlers
from chatops.api.cache import cache_handlers
from chatops.api.callers import Callers
from chatops.api.errors import explain
from chatops.api.fleet import fleet_handlers
from chatops.api.policy import policy_handlers
from chatops.api.quotas import quota_handlers
from chatops.api.recovery import recovery_handlers
from chatops.api.replies import reply_handlers
from chatops.api.sessions import session_handlers
from chatops.api.silences import silence_handlers
from chatops.api.web import web_handlers
from chatops.composition.services import Services
from chatops.services.errors import NotFound
from chatops.wire.outcomes import COMMITTED, Handler, Immediate, Outcome
from chatops.wire.peer import Peer
from chatops.wire.protocol import PROTOCOL_VERSION, Hello, Ping, PushReply


class SocketDoor:
    """Every socket request, served by the services; built once the services are."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self.callers = Callers()
        self.explain = explain
        self.handlers: dict[type, Handler] = {Hello: _hello, Ping: _ping, PushReply: _push_reply}
        for part in (
            fleet_handlers,
            session_handlers,
            reply_handlers,
            quota_handlers,
            approval_handlers,
            policy_handlers,
            cache_handlers,
            recovery_handlers,
            silence_handlers,
            web_handlers,
        ):
            self.handlers.update(part(services, self.callers))

    def connection_lost(self, peer: Peer) -> None:
        """The connection closed: everything its caller owned or waited on is let go."""
        caller = self.callers.forget(peer)
        if caller is None:
            return
        services = self._services
        services.fleet.connection_lost(caller)
        services.approvals.connection_lost(caller)
        services.cache_writes.connection_lost(caller)
        services.operators.connection_lost(caller)
        services.replies.connection_lost(caller)


def _hello(peer: Peer, msg: Hello) -> Outcome:
    return Immediate({"protocol": PROTOCOL_VERSION, "server_version": __version__})


def _ping(peer: Peer, msg: Ping) -> Outcome:
    return Immediate({"pong": True})


def _push_reply(peer: Peer, msg: PushReply) -> Outcome:
    if peer.link is None or not peer.link.answered(msg):
        raise NotFound(f"no push {msg.push_id} is waiting for an answer")
    return COMMITTED
