"""The diagnostics page: every check ``/diagnostics`` runs (the socket, the database, the data
and cache directories, Discord, each webhook, the scheduler, each connected bot), their sum as
``/health`` gives it, the host's and the controller's figures, and the controller's memory over
the last hour.

It stays live by reading itself again every :data:`REFRESH` seconds (a disk filling or a
database slowing down is no event) and when the fleet changes (a bot's ping check comes or
goes). The checks write to the database and ping every connected bot, so one run serves every
open page for :data:`FRESH` seconds (:class:`LatestChecks`): ten screens on the wall cost what
one does.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from chatops.composition.services import Services
from chatops.services.recovery.diagnostics import Check, Diagnostics
from chatops.services.recovery.probes import assess
from chatops.web import charts
from chatops.web.auth import SERVICES_KEY, csrf, viewer
from chatops.web.render import page

REFRESH = 10
FRESH = 5.0
"""Seconds one run of the checks is shown before the next page read runs them again."""


class LatestChecks:
    """The checks' latest run, shared: at most one run at a time, reused while fresh."""

    def __init__(self, diagnostics: Diagnostics) -> None:
        self._diagnostics = diagnostics
        self._run: asyncio.Task[list[Check]] | None = None
        self._started = 0.0

    async def read(self) -> tuple[list[Check], float]:
        """The checks and how many seconds ago they ran."""
        now = time.monotonic()  # what is spent is real time, whatever clock the services use
        stale = self._run is None or (self._run.done() and now - self._started > FRESH)
        if stale:
            self._run = asyncio.create_task(self._diagnostics.run_diagnostics())
            self._started = now
        assert self._run is not None
        # A page that is closed mid-run must not cancel the run the others wait for.
        checks = await asyncio.shield(self._run)
        return checks, time.monotonic() - self._started

    def close(self) -> None:
        """Stop a run still going (the controller is stopping)."""
        if self._run is not None:
            self._run.cancel()


CHECKS_KEY = web.AppKey("diagnostics", LatestChecks)


async def diagnostics_page(request: web.Request) -> web.Response:
    services: Services = request.app[SERVICES_KEY]
    checks, age = await request.app[CHECKS_KEY].read()
    metrics = services.diagnostics.system_metrics()
    series = await services.diagnostics.controller_series(1.0)
    now = services.clock()
    context: dict[str, Any] = {
        "me": viewer(request),
        "csrf": csrf(request),
        "health": assess(checks),
        "checks": checks,
        "age": age,
        "host": metrics.host,
        "controller": metrics.controller,
        "rss_chart": charts.line_chart(
            [charts.Line([(p.ts, p.rss_mb) for p in series], "rss", gap=300.0)],
            start=now - 3600,
            end=now,
            now=now,
            unit=lambda value: f"{value:,.0f} MB",
            label="the controller's RSS over the last hour",
        )
        if series
        else None,
        "refresh": REFRESH,
    }
    part = request.query.get("part")
    return page("diagnostics_live.html" if part == "live" else "diagnostics.html", **context)
