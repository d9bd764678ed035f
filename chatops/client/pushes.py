"""Pushes from the controller, on the agent's side: a handler per pushed type.

The controller pushes ``control`` (register again, restart…), ``approval_decision`` and generic
``push`` messages to the connection that registered a bot. A handler registered with
:meth:`MonitorClient.on_push` runs as its own task (a slow handler never holds the connection);
when the push carries a ``push_id`` its return value (a dict, or None) is sent back as the
answer, and an exception, or a push nobody handles, is answered ``ok: false`` with the reason.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

import msgspec

from chatops.runtime.tasks import TaskSet
from chatops.wire.protocol import Control, PushReply, Register, ServerPush, decode_push

log = logging.getLogger("chatops.client")

PushHandler = Callable[[Any], Awaitable[dict[str, Any] | None] | dict[str, Any] | None]
"""Called with the decoded push (``Control``, ``ApprovalDecision`` or ``Push``)."""


class PushDispatcher:
    def __init__(self, answer: Callable[[PushReply], Awaitable[object]]) -> None:
        self._answer = answer
        self._handlers: dict[str, PushHandler] = {}
        self._tasks = TaskSet()
        self.received = 0

    def register(self, kind: str, handler: PushHandler) -> None:
        self._handlers[kind] = handler

    def spawn(self, coro: Coroutine[Any, Any, None], *, name: str) -> None:
        """A task the client owns (cancelled when it closes)."""
        self._tasks.spawn(coro, name=name)

    def dispatch(self, line: bytes) -> None:
        try:
            push = decode_push(line)
        except msgspec.DecodeError as exc:
            log.warning("ignoring a malformed push from the monitor: %s", exc)
            return
        self.received += 1
        kind = str(push.__struct_config__.tag)
        self._tasks.spawn(self._run(kind, push), name=f"chatops-push:{kind}")

    async def _run(self, kind: str, push: ServerPush) -> None:
        handler = self._handlers.get(kind)
        result: dict[str, Any] | None = None
        error: str | None = None
        if handler is None:
            error = f"this agent has no handler for {kind} pushes"
        else:
            try:
                outcome = handler(push)
                result = await outcome if inspect.isawaitable(outcome) else outcome
            except Exception as exc:
                log.exception("push handler for %s failed", kind)
                error = f"{type(exc).__name__}: {exc}"[:500]
        if push.push_id is None:
            return
        await self._answer(
            PushReply(push_id=push.push_id, ok=error is None, result=result or {}, error=error)
        )

    async def close(self) -> None:
        await self._tasks.cancel()


Requester = Callable[..., Awaitable[dict[str, Any] | None]]


async def default_control(
    push: Control,
    registrations: Mapping[str, Register],
    request: Requester,
    shutdown: Callable[[int], None],
) -> dict[str, Any]:
    """The default ``control`` handler. ``register``: register every channel again (the
    controller rebuilt its statuses). ``ping``: answer (a round trip for diagnostics).
    ``restart``: shut down gracefully and exit with the code the controller gives, for the
    bot's own supervisor (systemd, a container, a shell loop) to start it again. Any other
    action needs a handler of the bot's own."""
    if push.action == "ping":
        return {"pong": True, "pid": os.getpid()}
    if push.action == "restart":
        code = push.args.get("exit_code", 75)
        code = code if isinstance(code, int) and 0 <= code <= 255 else 75
        shutdown(code)
        return {"restarting": True, "pid": os.getpid(), "exit_code": code}
    if push.action != "register":
        raise NotImplementedError(f"no handler for control action {push.action!r}")
    registered = []
    for channel, message in list(registrations.items()):
        reply = await request(message)
        if reply and reply.get("ok"):
            registered.append(channel)
    return {"registered": registered}


async def exit_for_restart(
    code: int,
    callbacks: list[Callable[[], Awaitable[None]]],
    drain: Callable[[float], Awaitable[bool]],
    abandon: Callable[[], None],
) -> None:
    """The default ``restart``: let the answer leave, run the bot's own cleanup, deliver the
    spool (bounded), drop the connection and exit with ``code`` for the bot's supervisor."""
    await asyncio.sleep(0.2)
    for callback in callbacks:
        try:
            await callback()
        except Exception:
            log.exception("an on_restart callback failed")
    await drain(2.0)
    abandon()
    os._exit(code)
