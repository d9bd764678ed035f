"""The fleet page (every bot, filtered, sorted, a page at a time: 10,000 bots stay usable) and
one bot's page, with its RSS and CPU charts over an hour, a day or a week. Both read the fleet
service, as ``/status`` does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from markupsafe import Markup

from chatops.composition.services import Services
from chatops.presentation.sessions import session_views
from chatops.records.fleet import BotState, BotStatus, MetricPoint, is_session
from chatops.records.replies import MAX_REPLY_CHARS
from chatops.records.web import Role
from chatops.services.errors import NotFound
from chatops.web import charts
from chatops.web.auth import SERVICES_KEY, csrf, viewer
from chatops.web.live import LIVE_KEY
from chatops.web.render import html_response, page, render

PAGE_SIZE = 100
WORST_FIRST = [
    BotStatus.DOWN,
    BotStatus.UNREACHABLE,
    BotStatus.STALE,
    BotStatus.LATE,
    BotStatus.ONLINE,
    BotStatus.OFFLINE,
]
"""The status sort (the default) shows what needs looking at on the first page."""
SORTS: dict[str, Any] = {
    "name": lambda bot: bot.channel.lower(),
    "status": lambda bot: (WORST_FIRST.index(bot.status), bot.channel.lower()),
    "host": lambda bot: (bot.host or "", bot.channel.lower()),
    "rss": lambda bot: bot.rss_mb or 0.0,
    "cpu": lambda bot: bot.cpu_pct or 0.0,
    "heartbeat": lambda bot: bot.last_heartbeat,
    "uptime": lambda bot: bot.registered_at,
}


@dataclass(frozen=True, slots=True)
class FleetQuery:
    status: str
    host: str
    feature: str
    sort: str
    descending: bool
    page: int

    @classmethod
    def of(cls, request: web.Request) -> FleetQuery:
        query = request.query
        sort = query.get("sort", "status")
        try:
            number = max(1, int(query.get("page", "1")))
        except ValueError:
            number = 1
        return cls(
            status=query.get("status", ""),
            host=query.get("host", ""),
            feature=query.get("feature", ""),
            sort=sort if sort in SORTS else "status",
            descending=query.get("order") == "desc",
            page=number,
        )

    def keeps(self, bot: BotState) -> bool:
        if self.status and bot.status != self.status:
            return False
        if self.host and (bot.host or "") != self.host:
            return False
        return not self.feature or self.feature in bot.active_features

    def link(self, **changes: Any) -> str:
        """This query with ``changes``, as a URL query string."""
        values = {
            "status": self.status,
            "host": self.host,
            "feature": self.feature,
            "sort": self.sort,
            "order": "desc" if self.descending else "",
            "page": str(self.page),
        }
        values.update({key: str(value) for key, value in changes.items()})
        return "?" + urlencode({key: value for key, value in values.items() if value})


async def fleet_page(request: web.Request) -> web.Response:
    query = FleetQuery.of(request)
    if request.query.get("part") == "live":
        # What every open page fetches when told the fleet changed: rendered once per change.
        hub = request.app[LIVE_KEY]
        services = request.app[SERVICES_KEY]
        html = hub.fragment(
            "fleet", query, lambda: render("fleet_live.html", **listing(services, query))
        )
        return html_response(html)
    me = viewer(request)
    context = listing(request.app[SERVICES_KEY], query)
    return page("fleet.html", me=me, csrf=csrf(request), **context)


def listing(services: Services, query: FleetQuery) -> dict[str, Any]:
    """The counts, the filters' choices, one page of the bots ``query`` keeps, and the coding
    sessions among all the bots it keeps (a few, each with what it is doing: not paged)."""
    bots = services.fleet.bots.values()
    counts = {str(status): 0 for status in BotStatus}
    hosts: set[str] = set()
    features: set[str] = set()
    for bot in bots:
        counts[bot.status] += 1
        hosts.add(bot.host or "")
        features.update(bot.active_features)
    shown = sorted(
        (bot for bot in bots if query.keeps(bot)), key=SORTS[query.sort], reverse=query.descending
    )
    pages = max(1, -(-len(shown) // PAGE_SIZE))
    number = min(query.page, pages)
    start = (number - 1) * PAGE_SIZE
    return {
        "query": query,
        "counts": counts,
        "total": len(services.fleet.bots),
        "matching": len(shown),
        "bots": shown[start : start + PAGE_SIZE],
        "sessions": session_views(
            services.agents.snapshot(), {bot.channel: str(bot.status) for bot in shown}
        ),
        "page_number": number,
        "pages": pages,
        "hosts": sorted(hosts),
        "features": sorted(features),
        "statuses": [str(status) for status in BotStatus],
        "now": services.clock(),
    }


BOT_SPANS = {"hour": 1.0, "day": 24.0, "week": 7 * 24.0}
"""The bot page's chart spans, in hours (``?span=``)."""
CHART_REFRESH = 60
GAP = 0.05
"""A pause in a bot's metrics longer than this share of the chart's span breaks its line."""


def bot_charts(series: list[MetricPoint], hours: float, now: float) -> dict[str, Markup]:
    """RSS and CPU over the last ``hours``, each on its own scale."""
    if not series:
        return {}
    start, gap = now - hours * 3600, max(300.0, hours * 3600 * GAP)
    rss = charts.Line([(p.ts, p.rss_mb) for p in series], "rss", gap=gap)
    cpu = charts.Line([(p.ts, p.cpu_pct) for p in series], "cpu", gap=gap)
    return {
        "rss": charts.line_chart(
            [rss],
            start=start,
            end=now,
            now=now,
            unit=lambda value: f"{value:,.0f} MB",
            label="RSS",
        ),
        "cpu": charts.line_chart(
            [cpu],
            start=start,
            end=now,
            now=now,
            unit=lambda value: f"{value:,.1f}%",
            label="CPU",
        ),
    }


async def bot_page(request: web.Request) -> web.Response:
    """The bot's page; ``?part=live`` its facts, agents and events (fetched again on every
    ``fleet`` event), ``?part=charts`` its charts (fetched again every :data:`CHART_REFRESH`
    seconds: a week of metrics is not read again for every bot that changes status)."""
    services: Services = request.app[SERVICES_KEY]
    name = request.query.get("name", "")
    span = request.query.get("span", "day")
    if span not in BOT_SPANS:
        span = "day"
    hours = BOT_SPANS[span]
    part = request.query.get("part")
    now = services.clock()
    me = viewer(request)
    context: dict[str, Any] = {
        "me": me,
        "csrf": csrf(request),
        "now": now,
        "span": span,
        "spans": list(BOT_SPANS),
        "chart_refresh": CHART_REFRESH,
        "is_admin": me.role.allows(Role.ADMIN),
    }
    if part != "live":
        if name not in services.fleet.bots:
            raise NotFound(f"no bot named {name!r}")
        series = await services.reports.metrics_series(name, hours)
        context["charts"] = bot_charts(series, hours, now)
        if part == "charts":
            return page("bot_charts.html", **context)
    # Its series is read above, for the charts alone: none here.
    detail = await services.reports.bot_detail(name, hours=0.0)
    if detail is None:
        raise NotFound(f"no bot named {name!r}")
    context.update(detail=detail, bot=detail.bot, usage=await services.usage.totals(name, 7))
    context["sessions"] = session_views(detail.agents, {detail.bot.channel: str(detail.bot.status)})
    # Replying is an approver's, as in Discord; the form is outside the live part, whose
    # refreshes would wipe what is being typed.
    context["can_reply"] = is_session(detail.bot) and me.role.allows(Role.APPROVER)
    context["max_reply"] = MAX_REPLY_CHARS
    return page("bot_live.html" if part == "live" else "bot.html", **context)
