"""One client connection: framing, dispatch, answers, pushes, and what it may cost.

Each connection frames lines (:class:`~chatops.wire.protocol.LineFramer`), decodes them, and
calls the handler registered for the message's type; the :mod:`~chatops.wire.outcomes` it
returns says when to answer. Pushes go the other way (:mod:`~chatops.wire.pushes`): the
connection is its peer's link, and a ``push_reply`` resolves the push that waits for it.

A :class:`ProtocolError` from a handler becomes a typed error reply; anything else becomes an
``internal_error`` reply and a log line. A bad message costs its sender at most its own
connection, never another client's: a line longer than the limit closes that connection, and so
does spending the error budget (:class:`~chatops.wire.badinput.ErrorBudget`).

Fairness: one connection's lines are handled at most :data:`LINES_PER_TURN` per turn of the event
loop; the rest wait for the next turn with reading paused, so a client pipelining thousands of
messages shares the loop with everyone else instead of holding it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, cast

import msgspec

from chatops.wire.acks import Acks, CommitNotifier, ok_line
from chatops.wire.badinput import BadInputLog, ErrorBudget
from chatops.wire.framing import LineFramer
from chatops.wire.outcomes import Committed, Handler, Immediate, Later, Noted
from chatops.wire.peer import Peer, new_peer
from chatops.wire.protocol import (
    ErrorCode,
    Message,
    ProtocolError,
    PushReply,
    RequestId,
    ServerPush,
    decode,
    encode_push,
    error_reply,
    ok_reply,
)
from chatops.wire.pushes import NotConnected, PendingPushes, PushTimeout

log = logging.getLogger("chatops.wire.server")

LINES_PER_TURN = 256


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


class Host(Protocol):
    """What a connection needs from the server that accepted it (:class:`~chatops.wire.server.
    MonitorServer`): its handlers and limits, admission, and the tasks and logs it keeps."""

    read_pauses: int

    @property
    def handlers(self) -> Mapping[type, Handler]: ...

    @property
    def notifier(self) -> CommitNotifier: ...

    @property
    def acks(self) -> Acks: ...

    @property
    def limits(self) -> ConnectionLimits: ...

    @property
    def bad_input(self) -> BadInputLog: ...

    @property
    def handled(self) -> Counter[type]: ...

    @property
    def stopping(self) -> bool: ...

    def explain(self, exc: Exception) -> tuple[ErrorCode, str] | None: ...

    def new_framer(self) -> LineFramer: ...

    def admit(self, connection: Connection) -> tuple[ErrorCode, str] | None: ...

    def release(self, connection: Connection) -> None: ...

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None: ...


class Connection(asyncio.Protocol):
    def __init__(self, server: Host) -> None:
        self._server = server
        self._framer = server.new_framer()
        self._transport: asyncio.Transport | None = None
        self._out: list[bytes] = []
        self._flush_scheduled = False
        self._in_turn = False
        """Handling lines: what they answer is written once, when the turn ends."""
        self.peer = Peer(conn_id=0)
        self._pushes = PendingPushes()
        self.closed = False
        self.admitted = False
        self._pauses: set[str] = set()
        """Why reading is paused: its turn is over, the store is behind, the peer is not
        reading our replies. Reading resumes when no reason is left."""
        self._lines: deque[bytes] = deque()
        self._overflow = False
        self._turn_scheduled = False
        limits = server.limits
        self._budget = ErrorBudget(limits.bad_message_budget, limits.bad_message_window)
        self._handshake: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's is one without subclassing asyncio's classes).
        self._transport = cast(asyncio.Transport, transport)
        self.peer = new_peer(transport.get_extra_info("socket"))
        self.peer.link = self
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
        self._pushes.fail_all()
        if self._handshake is not None:
            self._handshake.cancel()
        if self.admitted:
            self._server.release(self)

    def data_received(self, data: bytes) -> None:
        lines, overflow = self._framer.feed(data)
        if lines and self._handshake is not None:
            self._handshake.cancel()
            self._handshake = None
        if overflow:
            self._overflow = True
        if self._turn_scheduled:
            self._lines.extend(lines)  # its turn comes
        elif len(lines) == 1 and not self._lines and not self._overflow:
            # One whole line and nothing waiting, as a bot's heartbeat comes: no queue.
            self._in_turn = True
            try:
                self._handle(lines[0])
            finally:
                self._end_turn()
            if not self.closed:
                self._check_backlog()
        else:
            self._lines.extend(lines)
            self._take_turn()

    def _take_turn(self) -> None:
        """Handle up to LINES_PER_TURN lines, then write their answers at once; leave the rest
        for the next turn of the loop."""
        self._turn_scheduled = False
        self._in_turn = True
        try:
            self._handle_lines()
        finally:
            self._end_turn()

    def _end_turn(self) -> None:
        self._in_turn = False
        if self._out and not self._flush_scheduled:
            self._flush()

    def _handle_lines(self) -> None:
        lines = self._lines
        for _ in range(min(LINES_PER_TURN, len(lines))):
            self._handle(lines.popleft())
            if self.closed:
                lines.clear()
                return
        if lines:
            self._pause("turn")
            self._turn_scheduled = True
            asyncio.get_running_loop().call_soon(self._take_turn)
            return
        self._resume("turn")
        self._check_backlog()
        if self._overflow:
            limit = self._framer.max_line
            self.refuse(ErrorCode.LINE_TOO_LONG, f"line longer than {limit} bytes")

    def _check_backlog(self) -> None:
        if self._server.notifier.backlog > self._server.limits.max_pending_writes:
            self._hold_until_commit()

    def _pause(self, reason: str) -> None:
        if not self._pauses and self._transport is not None and not self.closed:
            self._transport.pause_reading()
        self._pauses.add(reason)

    def _resume(self, reason: str) -> None:
        if reason not in self._pauses:
            return
        self._pauses.discard(reason)
        if not self._pauses and self._transport is not None and not self.closed:
            self._transport.resume_reading()

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
        if "store" in self._pauses:
            return
        self._server.read_pauses += 1
        self._pause("store")
        self._server.notifier.after_commit(lambda _: self._resume("store"))

    def pause_writing(self) -> None:
        # The peer is not reading its replies: stop reading its requests until it catches up.
        self._pause("writing")

    def resume_writing(self) -> None:
        self._resume("writing")

    # -- sending ---------------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        """Queue one framed line; all lines queued in one loop iteration go out in one write."""
        if self.closed:
            return
        self._out.append(data)
        if not self._flush_scheduled and not self._in_turn:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        out = self._out
        if out and self._transport is not None and not self.closed:
            self._transport.write(out[0] if len(out) == 1 else b"".join(out))
        out.clear()

    def write_now(self, data: bytes) -> None:
        """Write at once (a batch's acks, already gathered per connection), unless closed."""
        if not self.closed and self._transport is not None:
            self._transport.write(data)

    def close(self) -> None:
        if self._transport is not None:
            self._flush()
            self._transport.close()

    # -- pushes ----------------------------------------------------------------------------------

    def send_push(self, push: ServerPush) -> None:
        if self.closed:
            raise NotConnected(f"{self.peer.describe()} is not connected")
        self.send(encode_push(push))

    async def ask(self, push: ServerPush, timeout: float) -> PushReply:
        push_id, answer = self._pushes.open()
        try:
            self.send_push(msgspec.structs.replace(push, push_id=push_id))
            return await asyncio.wait_for(answer, timeout)
        except TimeoutError:
            raise PushTimeout(
                f"{self.peer.describe()} did not answer {push.__struct_config__.tag} "
                f"within {timeout:g}s"
            ) from None
        finally:
            self._pushes.forget(push_id)

    def answered(self, reply: PushReply) -> bool:
        return self._pushes.resolve(reply)

    # -- dispatch --------------------------------------------------------------------------------

    def _handle(self, line: bytes) -> None:
        try:
            msg = decode(line)
        except ProtocolError as exc:
            self._rejected(exc.code, exc.message, exc.request_id)
            return
        server = self._server
        server.handled[type(msg)] += 1
        if server.stopping:
            self.send(error_reply(ErrorCode.SHUTTING_DOWN, "the monitor is shutting down", msg.id))
            return
        try:
            outcome = server.handlers[type(msg)](self.peer, msg)
        except ProtocolError as exc:
            self._rejected(exc.code, exc.message, msg.id)
            return
        except Exception as exc:
            self._failed(msg, exc, "handler")
            return
        if isinstance(outcome, Noted):
            if msg.id is not None:
                self.send(ok_line(msg.id))  # written when this turn ends
        elif isinstance(outcome, Committed):
            if msg.id is not None:
                server.acks.add(self, msg.id, outcome.body)
        elif isinstance(outcome, Immediate):
            self.send(ok_reply(msg.id, outcome.body, outcome.raw))
        else:
            server.spawn(self._answer_later(msg, outcome))

    def _failed(self, msg: Message, exc: Exception, what: str) -> None:
        """A handler's exception: the door's error as its reply, anything else a bug."""
        explained = self._server.explain(exc)
        if explained is not None:
            self._rejected(explained[0], explained[1], msg.id)
            return
        log.error("%s for %s failed", what, type(msg).__name__, exc_info=exc)
        self.send(error_reply(ErrorCode.INTERNAL_ERROR, "internal error", msg.id))

    async def _answer_later(self, msg: Message, later: Later) -> None:
        try:
            body = await asyncio.wait_for(later.answer, later.timeout)
        except asyncio.CancelledError:
            # The controller is stopping: say so, so the agent retries elsewhere or later.
            self.send(error_reply(ErrorCode.SHUTTING_DOWN, "the monitor is shutting down", msg.id))
            raise
        except TimeoutError:
            message = f"{type(msg).__name__}: no answer within {later.timeout:g}s"
            self.send(error_reply(ErrorCode.TIMEOUT, message, msg.id))
        except ProtocolError as exc:
            self._rejected(exc.code, exc.message, msg.id)
        except Exception as exc:
            self._failed(msg, exc, "query")
        else:
            if isinstance(body, Immediate):
                self.send(ok_reply(msg.id, body.body, body.raw))
            else:
                self.send(ok_reply(msg.id, body))
