"""Messages from the controller to an agent, and the answers it waits for.

A service pushes to the connection that owns a bot (``FleetService.peer_for(channel)``):
``peer.send(push)`` fires and forgets; ``await peer.ask(push, timeout)`` gives the push a
``push_id`` and waits for the agent's ``push_reply`` carrying it. Every failure is typed: the
bot is not connected (:class:`NotConnected`), no answer came in time (:class:`PushTimeout`), the
connection closed while waiting (:class:`NotConnected`), or the agent answered that it could
not do it (:class:`PushRejected`).
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Protocol

from chatops.wire.protocol import PushReply, ServerPush


class PushError(Exception):
    """A push that did not get the answer it asked for."""


class NotConnected(PushError):
    """No live connection to push to (never connected, gone, or closed while waiting)."""


class PushTimeout(PushError, TimeoutError):
    """The agent did not answer within the timeout."""


class PushRejected(PushError):
    """The agent answered ``ok: false``."""

    def __init__(self, reply: PushReply) -> None:
        super().__init__(reply.error or "the agent refused")
        self.reply = reply


class PushLink(Protocol):
    """What a peer needs from its connection to be pushed to."""

    @property
    def closed(self) -> bool: ...

    def send_push(self, push: ServerPush) -> None: ...

    async def ask(self, push: ServerPush, timeout: float) -> PushReply: ...

    def answered(self, reply: PushReply) -> bool: ...


class PendingPushes:
    """The pushes one connection waits on, by ``push_id``."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[PushReply]] = {}

    def open(self) -> tuple[int, asyncio.Future[PushReply]]:
        push_id = next(self._ids)
        future: asyncio.Future[PushReply] = asyncio.get_running_loop().create_future()
        self._waiting[push_id] = future
        return push_id, future

    def forget(self, push_id: int) -> None:
        self._waiting.pop(push_id, None)

    def resolve(self, reply: PushReply) -> bool:
        """Hand an answer to whoever waits for it; False if nobody does (late or forged)."""
        future = self._waiting.pop(reply.push_id, None)
        if future is None or future.done():
            return False
        future.set_result(reply)
        return True

    def fail_all(self) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(NotConnected("the connection closed before answering"))
        self._waiting.clear()
