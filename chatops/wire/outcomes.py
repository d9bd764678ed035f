"""The handler contract: what a request handler returns says how, and when, it is answered.

A handler is ``(peer, message) -> Outcome``:

* :class:`Committed`: writes were queued; the request (if it has an ``id``) is answered once the
  store has committed them, with ``body`` merged into the reply. Nothing is acknowledged before
  it is on disk.
* :class:`Immediate`: answer now (``ping``, ``hello``, ``get_status``), ``id`` or not.
* :class:`Noted`: nothing to store (most heartbeats: the live values are kept in memory and
  written with the bot's next metrics row); a request with an ``id`` is answered at once.
* :class:`Later`: answer when ``answer`` completes (a query, a human's decision), within
  ``timeout`` seconds, else with ``timeout``. It runs as a task the server owns, so a long wait
  never holds the connection or the loop; at shutdown it is cancelled and answered
  ``shutting_down``.

A :class:`~chatops.wire.protocol.ProtocolError` raised by a handler (or by a ``Later``) becomes a
typed error reply.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from chatops.wire.peer import Peer

M = TypeVar("M")


@dataclass(slots=True, frozen=True)
class Committed:
    body: dict[str, Any] | None = None


@dataclass(slots=True, frozen=True)
class Immediate:
    """``raw`` carries pre-encoded members (see :func:`~chatops.wire.protocol.ok_reply`)."""

    body: dict[str, Any]
    raw: tuple[bytes, ...] = ()


@dataclass(slots=True, frozen=True)
class Later:
    answer: Coroutine[Any, Any, dict[str, Any] | Immediate]
    timeout: float


@dataclass(slots=True, frozen=True)
class Noted:
    """Nothing was queued to store (a heartbeat between its bot's metrics rows): a request
    with an ``id`` is answered at once, there being no commit to wait for."""


Outcome = Committed | Immediate | Later | Noted
Handler = Callable[[Peer, Any], Outcome]

COMMITTED = Committed()
"""The outcome of most writes (a usage event, a heartbeat with a row): shared, not allocated
per message."""
NOTED = Noted()


def after_commit(
    method: Callable[[Peer, M], dict[str, Any] | None],
) -> Callable[[Peer, M], Outcome]:
    """A service method that queues writes, answered once they are committed."""

    def handle(peer: Peer, msg: M) -> Outcome:
        body = method(peer, msg)
        return COMMITTED if body is None else Committed(body)

    return handle
