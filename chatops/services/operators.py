"""Who may change things over the socket (decide an approval, delete cache entries).

Agents usually run as the operator's own uid, so the uid alone cannot tell the operator's
shell from an agent. The door is therefore narrow: the controller's own uid only (not merely
``socket_group``), never a connection that spoke as an agent (registered a bot, asked for an
approval, wrote a cache entry), and, where a request names the process that asked, never that
process or one it started."""

from __future__ import annotations

import os

from chatops.services.fleet import FleetService
from chatops.wire.peer import Peer, is_self_or_descendant
from chatops.wire.protocol import ErrorCode, ProtocolError, RequestId


class OperatorGate:
    def __init__(self, fleet: FleetService) -> None:
        self._fleet = fleet
        self._agent_conns: set[int] = set()

    def spoke_as_agent(self, peer: Peer) -> None:
        self._agent_conns.add(peer.conn_id)

    def connection_lost(self, peer: Peer) -> None:
        self._agent_conns.discard(peer.conn_id)

    def require(self, peer: Peer, request_id: RequestId, *, asker_pid: int | None = None) -> None:
        """Raise ``permission_denied`` (the request's typed error) unless ``peer`` may act as
        the operator."""
        refusal = self.refusal(peer, asker_pid=asker_pid)
        if refusal is not None:
            raise ProtocolError(ErrorCode.PERMISSION_DENIED, refusal, request_id)

    def refusal(self, peer: Peer, *, asker_pid: int | None = None) -> str | None:
        """Why ``peer`` may not act as the operator, or None."""
        if peer.uid is not None and peer.uid != os.geteuid():
            return "only the controller's own user may do this over the socket"
        if self._fleet.owns_any(peer) or peer.conn_id in self._agent_conns:
            return "a connection that speaks for a bot or an agent may not do this"
        asked = asker_pid is not None and peer.pid is not None
        if asked and is_self_or_descendant(peer.pid, asker_pid):  # type: ignore[arg-type]
            return "the agent that asked (or a process it started) may not decide its own request"
        return None
