"""A webhook receiver on loopback that records every request and answers as scripted."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Received:
    at: float
    path: str
    body: Any
    """The JSON posted: an object for a webhook, a list of alerts for Alertmanager's API."""
    status: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class WebhookReceiver:
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    posts: asyncio.Queue[Received] = field(default_factory=asyncio.Queue)
    """Every request too, to wait on one at a time."""

    async def start(self, *, userinfo: str = "", path: str = "hook") -> WebhookReceiver:
        """Listen on loopback; ``url`` is ``http://{userinfo}127.0.0.1:PORT/{path}``."""
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://{userinfo}127.0.0.1:{port}/{path}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        status, headers = self.script.pop(0) if self.script else (204, {})
        received = Received(time.monotonic(), request.path, body, status, dict(request.headers))
        self.received.append(received)
        self.posts.put_nowait(received)
        self.arrived.set()
        payload = json.dumps({"retry_after": 0.1}) if status == 429 else ""
        if status >= 500:
            payload = "unavailable"
        return web.Response(status=status, headers=headers, text=payload)

    def delivered(self) -> list[dict[str, Any]]:
        return [r.body for r in self.received if 200 <= r.status < 300]
