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
    body: dict[str, Any]
    status: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class WebhookReceiver:
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hook"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        status, headers = self.script.pop(0) if self.script else (204, {})
        self.received.append(
            Received(time.monotonic(), request.path, body, status, dict(request.headers))
        )
        self.arrived.set()
        payload = json.dumps({"retry_after": 0.1}) if status == 429 else ""
        return web.Response(status=status, headers=headers, text=payload)

    def delivered(self) -> list[dict[str, Any]]:
        return [r.body for r in self.received if 200 <= r.status < 300]
