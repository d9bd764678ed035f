"""The quotas page: every pool and budget with its bar, reset, burn rate and runway, and its
chart of % left over a chosen span with its thresholds, resets and forecast — what
``/quota summary`` and ``/quota detail`` show, read from the same service.

The page is live on the ``quotas`` topic (a threshold crossed or cleared) and read again every
:data:`REFRESH` seconds besides: the bars move with every call, which is no event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from markupsafe import Markup

from chatops.composition.services import Services
from chatops.services.quotas.service import QuotaDetail, QuotaView
from chatops.web import charts
from chatops.web.auth import SERVICES_KEY, csrf, viewer
from chatops.web.render import page

SPANS = {"90m": 90, "24h": 24 * 60, "7d": 7 * 24 * 60}
"""The spans ``/quota detail`` offers, in minutes."""
DEFAULT_SPAN = "24h"
REFRESH = 30
AHEAD = 0.5
"""How far the chart looks ahead for the forecast, as a share of its span: far enough to see
where the line goes, not so far that the past is squeezed into a corner."""


@dataclass(frozen=True, slots=True)
class QuotaCard:
    view: QuotaView
    bar: Markup
    chart: Markup | None
    """None: no samples in the span yet."""


def level_class(view: QuotaView) -> str:
    return view.level if view.level in charts.CLASSES else "warning"


def chart_of(detail: QuotaDetail, now: float, span: str) -> Markup | None:
    """% left over the span, its thresholds and resets, and the forecast to where it runs out
    or resets (cut where the chart ends). The line ends at what is left now: samples are kept
    at most once a minute, the bar beside the chart is this moment's."""
    if not detail.samples:
        return None
    minutes = SPANS[span]
    start = now - minutes * 60.0
    end = now
    lines = [charts.Line([*detail.samples, (now, detail.view.pct_left)], "quota")]
    if detail.forecast is not None:
        (t0, v0), (t1, v1) = detail.forecast
        end = min(max(t1, now), now + minutes * 60.0 * AHEAD)
        if t1 > end and t1 > t0:  # where the line is when the chart ends
            v1 = v0 + (v1 - v0) * (end - t0) / (t1 - t0)
            t1 = end
        lines.append(charts.Line([(t0, v0), (t1, v1)], "forecast"))
    lowest = min(detail.thresholds, default=None)
    return charts.line_chart(
        lines,
        start=start,
        end=end,
        now=now,
        top=100.0,
        unit=lambda value: f"{value:.0f}%",
        label=f"% left over the last {span}",
        levels=[(t, "critical" if t == lowest else "warning") for t in detail.thresholds],
        marks=detail.resets,
    )


async def quotas_page(request: web.Request) -> web.Response:
    services: Services = request.app[SERVICES_KEY]
    span = request.query.get("span", DEFAULT_SPAN)
    if span not in SPANS:
        span = DEFAULT_SPAN
    minutes = SPANS[span]
    now = services.clock()
    cards = []
    for view in services.quotas.summary():
        detail = await services.quotas.detail(view.name, minutes)
        shown = detail.view if detail is not None else view
        cards.append(
            QuotaCard(
                shown,
                charts.bar(
                    shown.pct_left / 100,
                    level_class(shown),
                    [threshold / 100 for threshold in shown.thresholds],
                ),
                None if detail is None else chart_of(detail, now, span),
            )
        )
    context: dict[str, Any] = {
        "me": viewer(request),
        "csrf": csrf(request),
        "span": span,
        "spans": list(SPANS),
        "refresh": REFRESH,
        "pools": [card for card in cards if card.view.kind == "pool"],
        "budgets": [card for card in cards if card.view.kind != "pool"],
        "now": now,
    }
    part = request.query.get("part")
    return page("quotas_live.html" if part == "live" else "quotas.html", **context)
