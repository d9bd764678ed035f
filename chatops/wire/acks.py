"""Acknowledgements that wait for the store's commit: one callback per batch, for every
connection.

A request with an ``id`` whose writes were queued is answered once the batch holding them is
committed (:class:`~chatops.wire.outcomes.Committed`). With 10,000 bots heartbeating each second,
nearly every connection has one ack in each batch; a callback, a list and a closure per
connection per batch were 30,000 objects a second that outlived the young generation (they wait
for the commit), and the garbage collector's passes over them cost more than the heartbeats.
Here a batch's acks are three flat lists registered with the writer once, and the replies of a
success with no body (a heartbeat's) are formatted without building a dict.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

from chatops.wire.protocol import ErrorCode, RequestId, error_reply, ok_reply


class CommitNotifier(Protocol):
    """What the server needs from the store's writer to acknowledge after commit."""

    @property
    def batch_id(self) -> int: ...

    @property
    def backlog(self) -> int: ...

    def after_commit(self, callback: Callable[[BaseException | None], None]) -> None: ...


class AckTarget(Protocol):
    """Where a batch's replies go: the connection, which drops them once it is closed."""

    def write_now(self, data: bytes) -> None: ...


def ok_line(request_id: RequestId) -> bytes:
    """``{"id": …, "ok": true}`` as :func:`~chatops.wire.protocol.ok_reply` encodes it; an
    integer id (what clients send) is formatted directly."""
    if type(request_id) is int:
        return b'{"id":%d,"ok":true}\n' % request_id
    return ok_reply(request_id)


class Acks:
    """The acks of the batch now filling, in the order they were queued."""

    __slots__ = ("_batch", "_bodies", "_ids", "_notifier", "_targets")

    def __init__(self, notifier: CommitNotifier) -> None:
        self._notifier = notifier
        self._batch = -1
        self._targets: list[AckTarget] = []
        self._ids: list[RequestId] = []
        self._bodies: list[dict[str, Any] | None] = []

    def add(self, target: AckTarget, request_id: RequestId, body: dict[str, Any] | None) -> None:
        """Answer ``request_id`` on ``target`` once everything queued so far is committed."""
        batch_id = self._notifier.batch_id
        if batch_id != self._batch:
            self._batch = batch_id
            targets: list[AckTarget] = []
            ids: list[RequestId] = []
            bodies: list[dict[str, Any] | None] = []
            self._targets, self._ids, self._bodies = targets, ids, bodies
            self._notifier.after_commit(partial(_answer, targets, ids, bodies))
        self._targets.append(target)
        self._ids.append(request_id)
        self._bodies.append(body)


def _answer(
    targets: list[AckTarget],
    ids: list[RequestId],
    bodies: list[dict[str, Any] | None],
    error: BaseException | None,
) -> None:
    """One write per run of a connection's consecutive acks (a pipelining client's turn), in the
    order they were queued."""
    pieces: list[bytes] = []
    current: AckTarget | None = None
    for target, request_id, body in zip(targets, ids, bodies, strict=True):
        if error is not None:
            line = error_reply(ErrorCode.STORAGE_ERROR, "could not be stored; retry", request_id)
        elif body is None:
            line = ok_line(request_id)
        else:
            line = ok_reply(request_id, body)
        if target is not current:
            if current is not None:
                current.write_now(pieces[0] if len(pieces) == 1 else b"".join(pieces))
            current, pieces = target, [line]
        else:
            pieces.append(line)
    if current is not None:
        current.write_now(pieces[0] if len(pieces) == 1 else b"".join(pieces))
