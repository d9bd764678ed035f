"""Who is on the other end of a connection, as far as the kernel can vouch for it."""

from __future__ import annotations

import itertools
import socket
import struct
from dataclasses import dataclass

from chatops.wire.protocol import PushReply, ServerPush
from chatops.wire.pushes import NotConnected, PushLink, PushRejected

_ids = itertools.count(1)
_UCRED = struct.Struct("3i")


@dataclass(slots=True, eq=False)
class Peer:
    """One connection's identity. ``pid``/``uid`` come from ``SO_PEERCRED`` on a Unix socket and
    are None for transports that cannot vouch for them (TLS, tests driving services directly)."""

    conn_id: int
    pid: int | None = None
    uid: int | None = None
    gid: int | None = None
    local: bool = True
    link: PushLink | None = None
    """The connection, for pushes; None for peers that cannot be pushed to (tests driving
    services directly)."""

    def _live_link(self) -> PushLink:
        if self.link is None or self.link.closed:
            raise NotConnected(f"{self.describe()} is not connected")
        return self.link

    def send(self, push: ServerPush) -> None:
        """Push without waiting for an answer; :class:`NotConnected` if the peer is gone."""
        self._live_link().send_push(push)

    async def ask(self, push: ServerPush, timeout: float) -> PushReply:
        """Push and wait for the agent's answer (see :mod:`chatops.wire.pushes`); an answer
        ``ok: false`` raises :class:`PushRejected`."""
        reply = await self._live_link().ask(push, timeout)
        if not reply.ok:
            raise PushRejected(reply)
        return reply

    def describe(self) -> str:
        return f"conn#{self.conn_id}" + (f" pid={self.pid}" if self.pid else "")


def new_peer(sock: socket.socket | None, *, local: bool = True) -> Peer:
    peer = Peer(conn_id=next(_ids), local=local)
    if sock is not None and sock.family == socket.AF_UNIX and hasattr(socket, "SO_PEERCRED"):
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
        peer.pid, peer.uid, peer.gid = _UCRED.unpack(raw)
    return peer


def _supplementary_groups(pid: int) -> set[int]:
    """The groups the kernel lists for ``pid`` (Linux); empty where that cannot be read."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Groups:"):
                    return {int(gid) for gid in line.split()[1:]}
    except (OSError, ValueError):
        pass
    return set()


def uid_refusal(peer: Peer, own_uid: int, group_id: int | None) -> str | None:
    """Why ``peer`` may not use the socket, or None: only the controller's own uid, or a member
    of ``socket_group``, may speak to it. A transport that cannot vouch for a uid is admitted
    (its own authentication is its business)."""
    if peer.uid is None or peer.uid == own_uid:
        return None
    if group_id is not None and (
        peer.gid == group_id
        or (peer.pid is not None and group_id in _supplementary_groups(peer.pid))
    ):
        return None
    return f"uid {peer.uid} is neither the controller's uid nor a member of socket_group"
