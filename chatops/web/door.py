"""The HTTP door: ``/metrics`` for Prometheus, ``/healthz``, and the web dashboard.

``/healthz`` answers 200 ``ok`` while the controller is healthy and 503 with the reason while it
is degraded (its store failing), for a load balancer or a supervisor's probe. ``/metrics`` is
Prometheus's (:mod:`chatops.metrics`), gzipped when the scraper accepts it, as Prometheus does.
Everything else is the dashboard: signed-in pages (:mod:`chatops.web.auth`), rendered on the
server, kept live over server-sent events (:mod:`chatops.web.live`).
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from chatops.composition.services import Services
from chatops.config import Settings
from chatops.metrics.scrape import CONTENT_TYPE, MetricsEndpoint
from chatops.web import (
    actions,
    approvals,
    auth,
    cache,
    diagnostics,
    fleet,
    incidents,
    quotas,
    replies,
    usage,
)
from chatops.web.live import LIVE_KEY, LiveHub
from chatops.web.render import security_headers

STATIC = Path(__file__).parent / "static"


class HttpDoor:
    def __init__(self, services: Services, settings: Settings) -> None:
        self._services = services
        self.metrics = MetricsEndpoint(services, settings.metrics)
        self.live = LiveHub(services.bus, services.alerts.on_change)
        self.app = web.Application(middlewares=[security_headers, auth.signed_in])
        self.app[auth.SERVICES_KEY] = services
        self.app[LIVE_KEY] = self.live
        self.checks = diagnostics.LatestChecks(services.diagnostics)
        self.app[diagnostics.CHECKS_KEY] = self.checks
        routes = self.app.router
        routes.add_get("/healthz", self.healthz)
        routes.add_get("/metrics", self.scrape)
        routes.add_static("/static/", STATIC, append_version=False)
        routes.add_get("/login", auth.login_form_empty)
        routes.add_get("/login/{token}", auth.login_form)
        routes.add_post("/login", auth.login)
        routes.add_post("/logout", auth.logout)
        routes.add_get("/events", self.events)
        routes.add_get("/", fleet.fleet_page)
        routes.add_get("/bot", fleet.bot_page)
        routes.add_post("/bot/restart", actions.restart)
        routes.add_post("/bot/silence", actions.silence)
        routes.add_post("/bot/reply", replies.reply)
        routes.add_get("/approvals", approvals.approvals_page)
        routes.add_post("/approvals/{id}", approvals.decide)
        routes.add_get("/approvals/{id}/edit", approvals.edit_page)
        routes.add_post("/approvals/{id}/edit", approvals.approve_edited)
        routes.add_get("/usage", usage.usage_page)
        routes.add_get("/quotas", quotas.quotas_page)
        routes.add_get("/incidents", incidents.incidents_page)
        routes.add_post("/silences", incidents.silence)
        routes.add_post("/silences/maintenance", incidents.maintenance)
        routes.add_post("/silences/{id}/end", incidents.end_silence)
        routes.add_get("/cache", cache.cache_page)
        routes.add_post("/cache/clean", cache.clean)
        routes.add_get("/diagnostics", diagnostics.diagnostics_page)

    async def events(self, request: web.Request) -> web.StreamResponse:
        return await self.live.stream(request, auth.still_signed_in(request))

    def close(self) -> None:
        self.metrics.close()
        self.live.close()
        self.checks.close()

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
