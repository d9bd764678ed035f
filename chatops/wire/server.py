"""The monitor server: connection lifecycle and dispatch, no business logic.

Connections themselves live in :mod:`chatops.wire.connection`; here are the listeners, admission
(uid, connection caps), the bad-input log and shutdown. Connections beyond the caps (total, per
uid) are answered with an error and closed instead of being served.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any

from chatops.runtime.tasks import TaskSet
from chatops.wire.acks import Acks, CommitNotifier
from chatops.wire.badinput import BadInputLog
from chatops.wire.connection import Connection, ConnectionLimits
from chatops.wire.framing import LineFramer
from chatops.wire.outcomes import Handler
from chatops.wire.peer import Peer
from chatops.wire.protocol import REQUEST_TYPES, ErrorCode
from chatops.wire.transport import bind_unix_socket, remove_socket

__all__ = ["ConnectionLimits", "MonitorServer"]

log = logging.getLogger(__name__)

Admission = Callable[[Peer], str | None]
"""Says why a peer may not use the socket at all (its uid), or None to admit it."""
Explain = Callable[[Exception], tuple[ErrorCode, str] | None]
"""The error reply for an exception a handler raised (the door's own errors), or None: a bug,
answered ``internal_error`` and logged."""


class MonitorServer:
    def __init__(
        self,
        handlers: Mapping[type, Handler],
        notifier: CommitNotifier,
        *,
        on_disconnect: Callable[[Peer], None],
        limits: ConnectionLimits | None = None,
        admission: Admission | None = None,
        explain: Explain | None = None,
    ) -> None:
        missing = sorted(cls.__name__ for cls in REQUEST_TYPES - handlers.keys())
        if missing:
            kinds = "request types" if len(missing) > 1 else "request type"
            raise ValueError(f"no handler for {kinds}: {', '.join(missing)}")
        self.handlers = dict(handlers)
        self.notifier = notifier
        self.acks = Acks(notifier)
        self._on_disconnect = on_disconnect
        self.limits = limits or ConnectionLimits()
        self._admission = admission
        self.explain: Explain = explain or (lambda exc: None)
        self.read_pauses = 0
        self.refused_connections: Counter[str] = Counter()
        """Connections refused, by why: ``uid``, ``max_connections`` or
        ``max_connections_per_uid``."""
        self.handled: Counter[type] = Counter()
        """Requests decoded and dispatched, by message type."""
        self.bad_input = BadInputLog()
        self.connections: set[Connection] = set()
        self._per_uid: dict[int | None, int] = {}
        self._capped: set[str] = set()
        self.stopping = False
        self._servers: list[asyncio.Server] = []
        self._unix_paths: list[tuple[Path, int]] = []
        self._tasks = TaskSet()

    def new_framer(self) -> LineFramer:
        return LineFramer(self.limits.max_line_bytes)

    def admit(self, connection: Connection) -> tuple[ErrorCode, str] | None:
        """Count a new connection in, or say why it is refused (its uid, or a cap)."""
        peer = connection.peer
        if self._admission is not None:
            reason = self._admission(peer)
            if reason is not None:
                self.refused_connections["uid"] += 1
                return ErrorCode.PERMISSION_DENIED, reason
        limits = self.limits
        if len(self.connections) >= limits.max_connections:
            self.refused_connections["max_connections"] += 1
            self._say_capped(
                "all",
                f"{limits.max_connections} connections, monitoring.max_connections: further "
                "connections are refused; raise the setting for a larger fleet",
            )
            return (
                ErrorCode.TOO_MANY_CONNECTIONS,
                f"the monitor serves at most {limits.max_connections} connections",
            )
        if self._per_uid.get(peer.uid, 0) >= limits.max_connections_per_uid:
            self.refused_connections["max_connections_per_uid"] += 1
            self._say_capped(
                f"uid {peer.uid}",
                f"uid {peer.uid} has {limits.max_connections_per_uid} connections, "
                "monitoring.max_connections_per_uid: its further connections are refused; "
                "raise the setting (and the open-file limit) for a larger fleet",
            )
            return (
                ErrorCode.TOO_MANY_CONNECTIONS,
                f"uid {peer.uid} already has {limits.max_connections_per_uid} connections",
            )
        self.connections.add(connection)
        self._per_uid[peer.uid] = self._per_uid.get(peer.uid, 0) + 1
        return None

    def _say_capped(self, key: str, message: str) -> None:
        """Log a cap's first refusal (per uid, or the total): the operator learns which
        setting to raise, and a fleet knocking on it does not flood the log."""
        if key not in self._capped:
            self._capped.add(key)
            log.warning("%s", message)

    def release(self, connection: Connection) -> None:
        self.connections.discard(connection)
        uid = connection.peer.uid
        left = self._per_uid.get(uid, 1) - 1
        if left > 0:
            self._per_uid[uid] = left
        else:
            self._per_uid.pop(uid, None)
        if not self.stopping:
            self._on_disconnect(connection.peer)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a per-request task the server owns: referenced, its failure logged."""
        self._tasks.spawn(coro, name="request")

    async def serve_unix(self, path: Path, group: str | None = None) -> None:
        sock = bind_unix_socket(path, group)
        inode = path.lstat().st_ino
        server = await asyncio.get_running_loop().create_unix_server(
            lambda: Connection(self), sock=sock
        )
        self._servers.append(server)
        self._unix_paths.append((path, inode))
        log.info("monitor listening on %s", path)

    async def stop_accepting(self) -> None:
        self.stopping = True
        for server in self._servers:
            server.close()

    async def close_connections(self, timeout: float = 5.0) -> None:
        """Answer every request still waiting ``shutting_down``, then close every connection."""
        await self._tasks.cancel()
        for connection in list(self.connections):
            connection.close()
        for server in self._servers:
            try:
                await asyncio.wait_for(server.wait_closed(), timeout)
            except TimeoutError:
                log.warning("listener did not close within %.0fs", timeout)
        self._servers.clear()
        self.bad_input.close()
        for path, inode in self._unix_paths:
            remove_socket(path, inode)
        self._unix_paths.clear()
