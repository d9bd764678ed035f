"""Pushes on the agent's side, as :class:`MonitorClient` offers them: ``on_push`` to handle a
pushed type, and the default ``control`` handler (``register``, ``ping``, ``restart``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from chatops.client.pushes import (
    PushDispatcher,
    PushHandler,
    default_control,
    exit_for_restart,
)
from chatops.wire.protocol import PUSH_TYPES, Control, Message, Register


class _Host(Protocol):
    _pushes: PushDispatcher
    _registrations: dict[str, Register]
    _closed: bool
    on_restart: list[Callable[[], Awaitable[None]]]

    async def request(
        self, message: Message, *, timeout: float | None = None
    ) -> dict[str, Any] | None: ...

    async def drain_spool(self, timeout: float) -> bool: ...

    def _drop_connection(self) -> None: ...

    def _restart(self: _Host, code: int) -> None: ...

    def _abandon(self: _Host) -> None: ...


class ControlCalls:
    def on_push(
        self: _Host, kind: str, handler: PushHandler | None = None
    ) -> Callable[[PushHandler], PushHandler]:
        """Handle pushes of type ``kind`` (``control``, ``approval_decision``, ``push``); usable
        as a decorator. A ``control`` handler replaces :meth:`default_control`."""
        if kind not in PUSH_TYPES:
            raise ValueError(f"unknown push type {kind!r}; one of {sorted(PUSH_TYPES)}")

        def register(function: PushHandler) -> PushHandler:
            self._pushes.register(kind, function)
            return function

        if handler is not None:
            register(handler)
        return register

    async def default_control(self: _Host, push: Control) -> dict[str, Any]:
        """See :func:`~chatops.client.pushes.default_control`."""
        return await default_control(push, self._registrations, self.request, self._restart)

    def _restart(self: _Host, code: int) -> None:
        """Asked to restart: ``on_restart`` callbacks, the spool delivered, exit ``code``."""
        self._pushes.spawn(
            exit_for_restart(code, self.on_restart, self.drain_spool, self._abandon),
            name="chatops-restart",
        )

    def _abandon(self: _Host) -> None:
        self._closed = True
        self._drop_connection()
