"""The socket's callers: one :class:`~chatops.services.callers.Caller` per connection, built from
what the kernel vouches for (``SO_PEERCRED``), and the agent link services push through."""

from __future__ import annotations

from typing import Any

from chatops.services.callers import Caller, Declined, NoAnswer, NotConnected
from chatops.wire import pushes
from chatops.wire.peer import Peer
from chatops.wire.protocol import Control


class PeerLink:
    """:class:`~chatops.services.callers.AgentLink` over a socket connection: a ``control``
    push, and the wire's push errors as the services' link errors."""

    __slots__ = ("_peer",)

    def __init__(self, peer: Peer) -> None:
        self._peer = peer

    @property
    def peer(self) -> Peer:
        return self._peer

    @property
    def closed(self) -> bool:
        link = self._peer.link
        return link is None or link.closed

    def tell(self, channel: str, action: str, reason: str | None = None) -> None:
        try:
            self._peer.send(Control(channel=channel, action=action, reason=reason))
        except pushes.NotConnected as exc:
            raise NotConnected(str(exc)) from None

    async def ask(
        self,
        channel: str,
        action: str,
        *,
        reason: str | None = None,
        args: dict[str, Any] | None = None,
        timeout: float,
    ) -> dict[str, Any]:
        push = Control(channel=channel, action=action, reason=reason, args=args or {})
        try:
            reply = await self._peer.ask(push, timeout)
        except pushes.PushTimeout as exc:
            raise NoAnswer(str(exc)) from None
        except pushes.PushRejected as exc:
            raise Declined(str(exc)) from None
        except pushes.PushError as exc:
            raise NotConnected(str(exc)) from None
        return dict(reply.result)


class Callers:
    """The caller of each open connection, made at its first request and forgotten when it
    closes."""

    def __init__(self) -> None:
        self._of: dict[Peer, Caller] = {}

    def of(self, peer: Peer) -> Caller:
        caller = self._of.get(peer)
        if caller is None:
            caller = self._of[peer] = Caller(
                pid=peer.pid,
                uid=peer.uid,
                local=peer.local,
                link=PeerLink(peer) if peer.link is not None else None,
                id=peer.conn_id,
            )
        return caller

    def forget(self, peer: Peer) -> Caller | None:
        return self._of.pop(peer, None)
