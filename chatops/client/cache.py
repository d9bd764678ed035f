"""The cache calls on the agent's side: ``create_cache_entry`` (files sent over the
socket, under the controller's upload cap), ``register_cache_entry`` (a folder the agent wrote
itself under the cache root), ``finish_cache_entry`` (the task is done: its entry may now be
cleaned), ``get_cache_summary``. Like every call, they never raise into the agent: a refusal or
an unreachable monitor is ``None`` (logged)."""

from __future__ import annotations

import base64
import logging
import os
from typing import Any, Protocol

from chatops.client.messages import checked
from chatops.wire.protocol import CacheCreate, CacheFinish, CacheRegister, GetCacheSummary, Message

log = logging.getLogger("chatops.client")


class _Requests(Protocol):
    async def request(
        self, message: Message, *, timeout: float | None = None
    ) -> dict[str, Any] | None: ...


async def _answer(client: _Requests, message: Message | None) -> dict[str, Any] | None:
    if message is None:
        return None
    reply = await client.request(message)
    if reply is None or not reply.get("ok"):
        if reply is not None:
            log.warning("cache: %s refused: %s", type(message).__name__, reply.get("error"))
        return None
    return {k: v for k, v in reply.items() if k not in ("id", "ok")}


class CacheCalls:
    async def create_cache_entry(
        self: _Requests,
        task_id: str,
        agent_type: str,
        files: dict[str, str | bytes],
        *,
        preview: str | None = None,
        agent: str | None = None,
    ) -> dict[str, Any] | None:
        """The entry as the controller indexed it, or None."""
        text = {name: data for name, data in files.items() if isinstance(data, str)}
        binary = {
            name: base64.b64encode(data).decode()
            for name, data in files.items()
            if isinstance(data, bytes)
        }
        message = checked(
            CacheCreate,
            task_id=task_id,
            agent_type=agent_type,
            agent=agent,
            files=text,
            files_b64=binary,
            preview=preview,
        )
        return await _answer(self, message)

    async def register_cache_entry(
        self: _Requests,
        task_id: str,
        agent_type: str,
        path: str | os.PathLike[str],
        *,
        preview: str | None = None,
        agent: str | None = None,
    ) -> dict[str, Any] | None:
        message = checked(
            CacheRegister,
            task_id=task_id,
            agent_type=agent_type,
            agent=agent,
            path=os.fspath(path),
            preview=preview,
        )
        return await _answer(self, message)

    async def finish_cache_entry(
        self: _Requests, task_id: str, *, agent: str | None = None
    ) -> bool:
        message = checked(CacheFinish, task_id=task_id, agent=agent)
        return await _answer(self, message) is not None

    async def get_cache_summary(self: _Requests) -> dict[str, Any] | None:
        """The cache's statistics: count, total size, per agent type, oldest,
        newest, largest; and ``root``, where a folder to register goes (``<root>/<task_id>``)."""
        return await _answer(self, GetCacheSummary())
