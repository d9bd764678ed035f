"""The monitor server: connection lifecycle and dispatch, no business logic.

Each connection frames lines (:class:`~chatops.protocol.LineFramer`), decodes them, and calls the
handler registered for the message's type. What the handler returns says how to answer:

* ``None`` or a ``dict``: a write was queued; answer (if the request has an ``id``) once the
  store has committed it, with the dict merged into the reply.
* :class:`Immediate`: answer now (``ping``, ``hello``), ``id`` or not.
* an awaitable: a read; answer with its result when it completes, ``id`` or not.

A :class:`ProtocolError` from a handler becomes a typed error reply; anything else becomes an
``internal_error`` reply and a log line. The connection always survives a bad message, except a
line longer than the limit, which closes that one connection.

Connections can also be written to by the server at any time (:meth:`Connection.send`), which is
what server-initiated pushes will use.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

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
    body: dict[str, Any]


Outcome = None | dict[str, Any] | Immediate | Awaitable[dict[str, Any]]
Handler = Callable[[Peer, Any], Outcome]


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
        self._reading_held = False

    # -- asyncio.Protocol ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self.peer = new_peer(transport.get_extra_info("socket"))
        self._server.connections.add(self)
        log.debug("connected: %s", self.peer.describe())

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._server.connections.discard(self)
        self._server.disconnected(self)

    def data_received(self, data: bytes) -> None:
        lines, overflow = self._framer.feed(data)
        for line in lines:
            self._handle(line)
        if self._server.notifier.backlog > self._server.max_pending_writes:
            self._hold_until_commit()
        if overflow:
            limit = self._framer.max_line
            self.send(error_reply(ErrorCode.LINE_TOO_LONG, f"line longer than {limit} bytes"))
            self._flush()
            self.close()

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
        if self._out and self._transport is not None and not self.closed:
            self._transport.write(b"".join(self._out))
        self._out.clear()

    def close(self) -> None:
        if self._transport is not None:
            self._flush()
            self._transport.close()

    # -- dispatch --------------------------------------------------------------------------------

    def _handle(self, line: bytes) -> None:
        try:
            msg = decode(line)
        except ProtocolError as exc:
            log.info("%s sent a bad message: %s: %s", self.peer.describe(), exc.code, exc.message)
            self.send(error_reply(exc.code, exc.message, exc.request_id))
            return
        server = self._server
        if server.stopping:
            self.send(error_reply(ErrorCode.SHUTTING_DOWN, "the monitor is shutting down", msg.id))
            return
        try:
            outcome = server.handlers[type(msg)](self.peer, msg)
        except ProtocolError as exc:
            self.send(error_reply(exc.code, exc.message, msg.id))
            return
        except Exception:
            log.exception("handler for %s failed", type(msg).__name__)
            self.send(error_reply(ErrorCode.INTERNAL_ERROR, "internal error", msg.id))
            return
        if outcome is None or isinstance(outcome, dict):
            if msg.id is not None:
                self._ack_after_commit(msg.id, outcome)
        elif isinstance(outcome, Immediate):
            self.send(ok_reply(msg.id, outcome.body))
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

    async def _answer_later(self, msg: Message, pending: Awaitable[dict[str, Any]]) -> None:
        try:
            body = await pending
        except ProtocolError as exc:
            self.send(error_reply(exc.code, exc.message, msg.id))
        except Exception:
            log.exception("query %s failed", type(msg).__name__)
            self.send(error_reply(ErrorCode.INTERNAL_ERROR, "internal error", msg.id))
        else:
            self.send(ok_reply(msg.id, body))


class MonitorServer:
    def __init__(
        self,
        handlers: Mapping[type, Handler],
        notifier: CommitNotifier,
        *,
        on_disconnect: Callable[[Peer], None],
        max_line_bytes: int,
        max_pending_writes: int = 100_000,
    ) -> None:
        self.handlers = dict(handlers)
        self.notifier = notifier
        self._on_disconnect = on_disconnect
        self._max_line = max_line_bytes
        self.max_pending_writes = max_pending_writes
        self.read_pauses = 0
        self.connections: set[Connection] = set()
        self.stopping = False
        self._servers: list[asyncio.Server] = []
        self._unix_paths: list[tuple[Path, int]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def new_framer(self) -> LineFramer:
        return LineFramer(self._max_line)

    def spawn(self, coro: Awaitable[None]) -> None:
        """Run a per-request task, keeping a reference so it is neither lost nor silently GC'd."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def disconnected(self, connection: Connection) -> None:
        if not self.stopping:
            self._on_disconnect(connection.peer)

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
        for path, inode in self._unix_paths:
            remove_socket(path, inode)
        self._unix_paths.clear()
