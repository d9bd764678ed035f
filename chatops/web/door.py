"""The HTTP door's routes, handed to the composition as the socket's door is.

``/healthz`` answers 200 ``ok`` while the controller is healthy and 503 with the reason while it
is degraded (its store failing), for a load balancer or a supervisor's probe. ``/metrics`` is
Prometheus's (:mod:`chatops.metrics`), gzipped when the scraper accepts it, as Prometheus does.
"""

from __future__ import annotations

from aiohttp import web

from chatops.composition.services import Services
from chatops.config import Settings
from chatops.metrics.scrape import CONTENT_TYPE, MetricsEndpoint


class HttpDoor:
    def __init__(self, services: Services, settings: Settings) -> None:
        self._services = services
        self.metrics = MetricsEndpoint(services, settings.metrics)
        self.app = web.Application()
        self.app.router.add_get("/healthz", self.healthz)
        self.app.router.add_get("/metrics", self.scrape)

    def close(self) -> None:
        self.metrics.close()

    async def healthz(self, request: web.Request) -> web.Response:
        health = self._services.health.current()
        if health.degraded:
            return web.Response(status=503, text=f"degraded: {health.reason}\n")
        return web.Response(text="ok\n")

    async def scrape(self, request: web.Request) -> web.Response:
        compress = "gzip" in request.headers.get("Accept-Encoding", "")
        body = await self.metrics.render(compress=compress)
        response = web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
        if compress:
            response.headers["Content-Encoding"] = "gzip"
        return response
