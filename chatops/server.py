"""The monitor server: connection lifecycle and dispatch, no business logic.

Each connection frames lines (:class:`~chatops.protocol.LineFramer`), decodes them, and calls the
handler registered for the message's type. What the handler returns says how to answer:

* ``None`` or a ``dict``: a write was queued; answer (if the request has an ``id``) once the
  store has committed it, with the dict merged into the reply.
* :class:`Immediate`: answer now (``ping``, ``hello``), ``id`` or not.
* an awaitable: a read; answer with its result when it completes, ``id`` or not.

A :class:`ProtocolError` from a handler becomes a typed error reply; anything else becomes an
``internal_error`` reply and a log line. A bad message costs its sender at most its own
connection, never another client's: a line longer than the limit closes that connection, and so
does spending the error budget (:class:`~chatops.badinput.ErrorBudget`). Bad input is logged as
periodic summaries, never a line per message. Connections that send no complete line within
``handshake_timeout`` are closed, and connections beyond the caps (total, per uid) are answered
with an error and closed instead of being served.

Connections can also be written to by the server at any time (:meth:`Connection.send`), which is
what server-initiated pushes will use.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from chatops.badinput import BadInputLog, ErrorBudget
from chatops.peer import Peer, new_peer
from chatops.protocol import (
    ErrorCode,
    LineFramer,
    Message,
    ProtocolError,
    RequestId,
    decode,
    error_reply,
    ok_reply,
)
from chatops.transport import bind_unix_socket, remove_socket

log = logging.getLogger(__name__)


@dataclass(slots=True, frozen=True)
class Immediate:
    """Answer now. ``raw`` carries pre-encoded members (see :func:`~chatops.protocol.ok_reply`)."""

    body: dict[str, Any]
    raw: tuple[bytes, ...] = ()


Outcome = None | dict[str, Any] | Immediate | Awaitable[dict[str, Any] | Immediate]
Handler = Callable[[Peer, Any], Outcome]
Admission = Callable[[Peer], str | None]
"""Says why a peer may not use the socket at all (its uid), or None to admit it."""

# Refusals that say the sender got something wrong; they spend its error budget. Failures of
# the controller's own (storage, shutdown, a bug) never do.
_SENDER_ERRORS = frozenset(
    {
        ErrorCode.INVALID_JSON,
        ErrorCode.INVALID_MESSAGE,
        ErrorCode.UNKNOWN_TYPE,
        ErrorCode.PERMISSION_DENIED,
        ErrorCode.NOT_REGISTERED,
        ErrorCode.NOT_FOUND,
    }
)


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """What one connection, and all of them together, may cost the controller."""

    max_line_bytes: int = 65536
    max_pending_writes: int = 100_000
    handshake_timeout: float = 10.0
    max_connections: int = 4096
    max_connections_per_uid: int = 1024
    bad_message_budget: int = 50
    bad_message_window: float = 60.0


class CommitNotifier(Protocol):
    """What the server needs from the store's writer to acknowledge after commit."""

    @property
    def batch_id(self) -> int: ...

    @property
    def backlog(self) -> int: ...

    def after_commit(self, callback: Callable[[BaseException | None], None]) -> None: ...


class Connection(asyncio.Protocol):
    def __init__(self, server: MonitorServer) -> None:
        self._server = server
        self._framer = server.new_framer()
        self._transport: asyncio.Transport | None = None
        self._out: list[bytes] = []
        self._flush_scheduled = False
        self._acks: list[tuple[RequestId, dict[str, Any] | None]] = []
        self._ack_batch = -1
        self.peer = Peer(conn_id=0)
        self.closed = False
        self.admitted = False
        self._reading_held = False
        limits = server.limits
        self._budget = ErrorBudget(limits.bad_message_budget, limits.bad_message_window)
        self._handshake: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self.peer = new_peer(transport.get_extra_info("socket"))
        refusal = self._server.admit(self)
        if refusal is not None:
            code, message = refusal
            self.refuse(code, message)
            return
        self.admitted = True
        self._handshake = asyncio.get_running_loop().call_later(
            self._server.limits.handshake_timeout, self._handshake_expired
        )
        log.debug("connected: %s", self.peer.describe())

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._handshake is not None:
            self._handshake.cancel()
        if self.admitted:
            self._server.release(self)

    def data_received(self, data: bytes) -> None:
        lines, overflow = self._framer.feed(data)
        if lines and self._handshake is not None:
            self._handshake.cancel()
            self._handshake = None
        for line in lines:
            self._handle(line)
            if self.closed:
                return
        if self._server.notifier.backlog > self._server.limits.max_pending_writes:
            self._hold_until_commit()
        if overflow:
            limit = self._framer.max_line
            self.refuse(ErrorCode.LINE_TOO_LONG, f"line longer than {limit} bytes")

    def refuse(self, code: ErrorCode, message: str) -> None:
        """A final error line, then close: the sender loses this connection and nothing else."""
        self._server.bad_input.record(self.peer.describe(), str(code), message)
        self.send(error_reply(code, message))
        self.close()
        self.closed = True

    def _handshake_expired(self) -> None:
        self._handshake = None
        if not self.closed:
            timeout = self._server.limits.handshake_timeout
            self.refuse(ErrorCode.HANDSHAKE_TIMEOUT, f"no complete line within {timeout:g}s")

    def _rejected(self, code: ErrorCode, message: str, request_id: RequestId) -> None:
        """Answer a refused request; a sender that keeps getting things wrong is cut off."""
        self.send(error_reply(code, message, request_id))
        if code not in _SENDER_ERRORS:
            return
        self._server.bad_input.record(self.peer.describe(), str(code), message)
        if not self._budget.spend(time.monotonic()):
            limits = self._server.limits
            self.refuse(
                ErrorCode.TOO_MANY_ERRORS,
                f"more than {limits.bad_message_budget} bad messages within "
                f"{limits.bad_message_window:g}s; closing this connection",
            )

    def _hold_until_commit(self) -> None:
        """The store is behind: stop reading this peer until the queued writes are committed, so
        a flood costs the sender latency instead of costing the controller memory."""
        if self._transport is None or self._reading_held:
            return
        self._reading_held = True
        self._server.read_pauses += 1
        self._transport.pause_reading()

        def resume(_: BaseException | None) -> None:
            self._reading_held = False
            if self._transport is not None and not self.closed:
                self._transport.resume_reading()

        self._server.notifier.after_commit(resume)

    def pause_writing(self) -> None:
        # The peer is not reading its replies: stop reading its requests until it catches up.
        if self._transport is not None:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        if self._transport is not None and not self.closed:
            self._transport.resume_reading()

    # -- sending ---------------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        """Queue one framed line; all lines queued in one loop iteration go out in one write."""
        if self.closed:
            return
        self._out.append(data)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        out = self._out
        if out and self._transport is not None and not self.closed:
            self._transport.write(out[0] if len(out) == 1 else b"".join(out))
        out.clear()

    def close(self) -> None:
        if self._transport is not None:
            self._flush()
            self._transport.close()

    # -- dispatch --------------------------------------------------------------------------------

    def _handle(self, line: bytes) -> None:
        try:
            msg = decode(line)
        except ProtocolError as exc:
            self._rejected(exc.code, exc.message, exc.request_id)
            return
        server = self._server
        if server.stopping:
            self.send(error_reply(ErrorCode.SHUTTING_DOWN, "the monitor is shutting down", msg.id))
            return
        try:
            outcome = server.handlers[type(msg)](self.peer, msg)
        except ProtocolError as exc:
            self._rejected(exc.code, exc.message, msg.id)
            return
        except Exception:
            log.exception("handler for %s failed", type(msg).__name__)
            self.send(error_reply(ErrorCode.INTERNAL_ERROR, "internal error", msg.id))
            return
        if outcome is None or isinstance(outcome, dict):
            if msg.id is not None:
                self._ack_after_commit(msg.id, outcome)
        elif isinstance(outcome, Immediate):
            self.send(ok_reply(msg.id, outcome.body, outcome.raw))
        else:
            server.spawn(self._answer_later(msg, outcome))

    def _ack_after_commit(self, request_id: RequestId, body: dict[str, Any] | None) -> None:
        notifier = self._server.notifier
        if notifier.batch_id != self._ack_batch:
            # One callback per connection per batch, carrying every ack of that batch.
            self._ack_batch = notifier.batch_id
            self._acks = []
            notifier.after_commit(self._make_ack_callback(self._acks))
        self._acks.append((request_id, body))

    def _make_ack_callback(
        self, acks: list[tuple[RequestId, dict[str, Any] | None]]
    ) -> Callable[[BaseException | None], None]:
        def on_commit(error: BaseException | None) -> None:
            if error is None:
                replies = [ok_reply(request_id, body) for request_id, body in acks]
            else:
                replies = [
                    error_reply(ErrorCode.STORAGE_ERROR, "could not be stored; retry", request_id)
                    for request_id, _ in acks
                ]
            if replies and not self.closed and self._transport is not None:
                self._transport.write(b"".join(replies))

        return on_commit

    async def _answer_later(
        self, msg: Message, pending: Awaitable[dict[str, Any] | Immediate]
    ) -> None:
        try:
            body = await pending
        except ProtocolError as exc:
            self._rejected(exc.code, exc.message, msg.id)
        except Exception:
            log.exception("query %s failed", type(msg).__name__)
            self.send(error_reply(ErrorCode.INTERNAL_ERROR, "internal error", msg.id))
        else:
            if isinstance(body, Immediate):
                self.send(ok_reply(msg.id, body.body, body.raw))
            else:
                self.send(ok_reply(msg.id, body))


class MonitorServer:
    def __init__(
        self,
        handlers: Mapping[type, Handler],
        notifier: CommitNotifier,
        *,
        on_disconnect: Callable[[Peer], None],
        limits: ConnectionLimits | None = None,
        admission: Admission | None = None,
    ) -> None:
        self.handlers = dict(handlers)
        self.notifier = notifier
        self._on_disconnect = on_disconnect
        self.limits = limits or ConnectionLimits()
        self._admission = admission
        self.read_pauses = 0
        self.refused_connections = 0
        self.bad_input = BadInputLog()
        self.connections: set[Connection] = set()
        self._per_uid: dict[int | None, int] = {}
        self.stopping = False
        self._servers: list[asyncio.Server] = []
        self._unix_paths: list[tuple[Path, int]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def new_framer(self) -> LineFramer:
        return LineFramer(self.limits.max_line_bytes)

    def admit(self, connection: Connection) -> tuple[ErrorCode, str] | None:
        """Count a new connection in, or say why it is refused (its uid, or a cap)."""
        peer = connection.peer
        if self._admission is not None:
            reason = self._admission(peer)
            if reason is not None:
                self.refused_connections += 1
                return ErrorCode.PERMISSION_DENIED, reason
        limits = self.limits
        if len(self.connections) >= limits.max_connections:
            self.refused_connections += 1
            return (
                ErrorCode.TOO_MANY_CONNECTIONS,
                f"the monitor serves at most {limits.max_connections} connections",
            )
        if self._per_uid.get(peer.uid, 0) >= limits.max_connections_per_uid:
            self.refused_connections += 1
            return (
                ErrorCode.TOO_MANY_CONNECTIONS,
                f"uid {peer.uid} already has {limits.max_connections_per_uid} connections",
            )
        self.connections.add(connection)
        self._per_uid[peer.uid] = self._per_uid.get(peer.uid, 0) + 1
        return None

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

    def spawn(self, coro: Awaitable[None]) -> None:
        """Run a per-request task, keeping a reference so it is neither lost nor silently GC'd."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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
        for connection in list(self.connections):
            connection.close()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=timeout)
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
