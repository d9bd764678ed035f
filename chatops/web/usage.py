"""The LLM usage page: tokens and cost over a chosen span (an hour to a month), as columns over
time and as bars by model, by feature and by bot, for the whole fleet or one bot. It reads the
usage service, as ``/llm usage`` does, and reads it again every :data:`REFRESH` seconds while
open (usage has no live topic: a call is logged many times a second in a busy fleet)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from markupsafe import Markup

from chatops.composition.services import Services
from chatops.records.usage import UsageGroup
from chatops.services.usage import UsageGrouping
from chatops.web import charts
from chatops.web.auth import SERVICES_KEY, csrf, viewer
from chatops.web.render import page

SPANS: dict[str, tuple[float, int]] = {
    "1h": (1, 60),
    "24h": (24, 96),
    "7d": (7 * 24, 168),
    "30d": (30 * 24, 120),
}
"""Each span the page offers: its hours, and how many columns its charts have (a minute, a
quarter of an hour, an hour, six hours each)."""
DEFAULT_SPAN = "24h"
MOST_GROUPS = 25
"""Bars per breakdown: the costliest; the rest are summed into one line."""
REFRESH = 30


@dataclass(frozen=True, slots=True)
class Breakdown:
    """One table of the page: its groups, each with its bar, and what the shown ones leave."""

    title: str
    by_bot: bool
    """Its names are bots: each links to that bot's usage."""
    rows: list[tuple[UsageGroup, Markup]]
    rest_calls: int
    rest_cost: float


def breakdown(
    title: str, groups: list[UsageGroup], calls: int, cost: float, *, by_bot: bool = False
) -> Breakdown:
    """Bars scaled to the costliest group (by calls when nothing has a cost: a local model)."""
    by_cost = any(group.cost > 0 for group in groups)
    top = max((group.cost if by_cost else group.calls for group in groups), default=0) or 1
    rows = [
        (group, charts.bar((group.cost if by_cost else group.calls) / top, "ok"))
        for group in groups
    ]
    return Breakdown(
        title,
        by_bot,
        rows,
        max(0, calls - sum(group.calls for group in groups)),
        max(0.0, cost - sum(group.cost for group in groups)),
    )


async def usage_page(request: web.Request) -> web.Response:
    services: Services = request.app[SERVICES_KEY]
    span = request.query.get("span", DEFAULT_SPAN)
    if span not in SPANS:
        span = DEFAULT_SPAN
    bot = request.query.get("bot", "").strip() or None
    hours, buckets = SPANS[span]
    usage = services.usage

    async def groups(by: UsageGrouping, limit: int | None = MOST_GROUPS) -> list[UsageGroup]:
        return await usage.breakdown_over(hours, by, channel=bot, limit=limit)

    models = await groups("model", None)  # every model: their sums are the totals
    calls = sum(group.calls for group in models)
    cost = sum(group.cost for group in models)
    tables = [
        breakdown("By model", models[:MOST_GROUPS], calls, cost),
        breakdown("By feature", await groups("feature"), calls, cost),
    ]
    if bot is None:
        tables.append(breakdown("By bot", await groups("bot"), calls, cost, by_bot=True))
    timeline = await usage.timeline(hours, buckets, channel=bot)
    now = services.clock()
    start, end = now - hours * 3600, now
    context: dict[str, Any] = {
        "me": viewer(request),
        "csrf": csrf(request),
        "span": span,
        "spans": list(SPANS),
        "bot": bot,
        "links": {
            choice: "?" + urlencode({"span": choice, **({"bot": bot} if bot else {})})
            for choice in SPANS
        },
        "live_src": "/usage?"
        + urlencode({"span": span, **({"bot": bot} if bot else {}), "part": "live"}),
        "refresh": REFRESH,
        "calls": calls,
        "tokens_in": sum(group.tokens_in for group in models),
        "tokens_out": sum(group.tokens_out for group in models),
        "cost": cost,
        "tables": tables,
        "tokens_chart": charts.columns(
            [float(b.tokens_in + b.tokens_out) for b in timeline],
            start=start,
            end=end,
            now=now,
            css="tokens",
            label=f"tokens over the last {span}",
            unit=lambda value: f"{value:,.0f}",
        ),
        "cost_chart": charts.columns(
            [b.cost for b in timeline],
            start=start,
            end=end,
            now=now,
            css="cost",
            label=f"cost over the last {span}",
            unit=lambda value: f"${value:,.4g}",
        ),
    }
    part = request.query.get("part")
    return page("usage_live.html" if part == "live" else "usage.html", **context)
