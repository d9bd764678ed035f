"""The task cache page: its size against the warning and auto-clean thresholds, its entries
(newest first, a page at a time), a clean's plan, and Clean for admins.

A clean here is what ``/cache clean`` does: the plan is shown first, and Clean executes exactly
that plan. The form carries each planned entry as ``inode:task_id``, so what is removed is what
the admin saw, not what a fresh plan would say a moment later; the manager skips an entry that
changed since (gone, replaced by another folder, running again) and the result says which.
The plan sits inside the live region, so the one on screen is always the one the form holds.

The page is live on ``cache`` (a warning crossed, an auto-clean); a clean made here tells the
other open pages at once.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from markupsafe import Markup

from chatops.composition.services import Services
from chatops.presentation.cache import REASONS, result_text
from chatops.presentation.formatting import size_text
from chatops.presentation.markup import TERMINAL
from chatops.records.cache import CacheStats, CleanPlan
from chatops.records.web import Role
from chatops.services.cache.plan import MB
from chatops.services.errors import Invalid
from chatops.web import charts
from chatops.web.auth import SERVICES_KEY, check_change, csrf, viewer
from chatops.web.live import LIVE_KEY
from chatops.web.render import page

PAGE_SIZE = 50
PLAN_LISTED = 100
"""Planned entries listed by name; the form carries every one."""
PLANS = {"clean": "Clean (by age, then size)", "auto_clean": "Auto-clean (by size)"}
"""The plans the page shows, by their kind: ``/cache clean``'s, and the size-only one."""


def plan_of(services: Services, kind: str) -> CleanPlan:
    cache = services.cache
    return cache.plan_auto_clean() if kind == "auto_clean" else cache.plan_clean()


def size_bar(stats: CacheStats) -> tuple[Markup, str]:
    """The total as a bar whose end is the higher threshold, the lower one ticked; and its
    level (over auto-clean: critical; over the warning: warning)."""
    warning = stats.warning_threshold_mb * MB
    auto = stats.auto_clean_threshold_mb * MB
    scale = max(warning, auto)
    level = (
        "critical" if stats.total_size > auto else "warning" if stats.total_size > warning else "ok"
    )
    return charts.bar(stats.total_size / scale, level, [warning / scale, auto / scale]), level


async def cache_page(request: web.Request) -> web.Response:
    services: Services = request.app[SERVICES_KEY]
    me = viewer(request)
    cache = services.cache
    kind = request.query.get("plan", "clean")
    if kind not in PLANS:
        kind = "clean"
    try:
        number = max(1, int(request.query.get("page", "1")))
    except ValueError:
        number = 1
    stats = cache.statistics()
    entries = cache.get_cache_entries()
    pages = max(1, -(-len(entries) // PAGE_SIZE))
    number = min(number, pages)
    shown = entries[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
    plan = plan_of(services, kind)
    bar, level = size_bar(stats)
    context: dict[str, Any] = {
        "me": me,
        "csrf": csrf(request),
        "is_admin": me.role.allows(Role.ADMIN),
        "stats": stats,
        "size_bar": bar,
        "level": level,
        "size_text": size_text,
        "entries": [(entry, cache.running(entry)) for entry in shown],
        "page_number": number,
        "pages": pages,
        "kind": kind,
        "plans": PLANS,
        "plan": plan,
        "listed": plan.items[:PLAN_LISTED],
        "reasons": [(REASONS.get(reason, reason), count) for reason, count in plan.reasons.items()],
        "now": services.clock(),
    }
    part = request.query.get("part")
    return page("cache_live.html" if part == "live" else "cache.html", **context)


def planned_items(values: list[str]) -> list[tuple[str, int]]:
    """The form's ``item`` fields (``inode:task_id``) as the manager's plan pairs."""
    planned = []
    for value in values:
        inode, sep, task_id = value.partition(":")
        if not sep or not task_id or not inode.isdigit():
            raise Invalid(f"not a planned entry: {value[:80]!r}")
        planned.append((task_id, int(inode)))
    return planned


async def clean(request: web.Request) -> web.Response:
    """``POST /cache/clean``: ``kind`` and one ``item`` per planned entry, as the page showed."""
    form = await check_change(request, Role.ADMIN)
    services: Services = request.app[SERVICES_KEY]
    kind = form.get("kind", "")
    if kind not in PLANS:
        raise Invalid(f"no such clean: {kind[:40]!r}")
    planned = planned_items([str(value) for value in (await request.post()).getall("item", [])])
    if not planned:
        raise Invalid("the plan was empty: nothing to remove")
    cache = services.cache
    result = await cache.execute(cache.plan_shown(kind, planned))
    request.app[LIVE_KEY].publish("cache")
    text = result_text(len(result.removed), result.freed, cache.total, result.skipped, TERMINAL)
    return page("done.html", me=viewer(request), csrf=csrf(request), back="/cache", what=text)
