"""The approvals page: pending requests with the preview Discord shows (secrets masked when the
request was made), Approve and Deny for approvers, and the latest decisions. A decision here is
the service's ``decide``, as a click on the Discord prompt is (which then shows it too)."""

from __future__ import annotations

from aiohttp import web

from chatops.composition.services import Services
from chatops.records.web import Role
from chatops.web.auth import SERVICES_KEY, check_change, csrf, viewer
from chatops.web.render import page

RECENT = 30


async def approvals_page(request: web.Request) -> web.Response:
    services: Services = request.app[SERVICES_KEY]
    me = viewer(request)
    pending = sorted(services.approvals.pending(), key=lambda record: record.id)
    stored = await services.approvals.controls.get_recent_actions(RECENT)
    # A decision just taken may not be committed yet: the service's own records have it.
    by_id = {record.id: record for record in stored}
    by_id.update((r.id, r) for r in services.approvals.records.values() if not r.pending)
    recent = sorted(by_id.values(), key=lambda record: record.id, reverse=True)[:RECENT]
    return page(
        "approvals_live.html" if request.query.get("part") == "live" else "approvals.html",
        me=me,
        csrf=csrf(request),
        pending=pending,
        recent=[record for record in recent if not record.pending],
        can_decide=me.role.allows(Role.APPROVER),
        now=services.clock(),
    )


async def decide(request: web.Request) -> web.StreamResponse:
    """``POST /approvals/<id>``: ``decision`` approve or deny, an optional ``reason``."""
    form = await check_change(request, Role.APPROVER)
    services: Services = request.app[SERVICES_KEY]
    me = viewer(request)
    try:
        request_id = int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound(text="no such request") from None
    decision = form.get("decision")
    if decision not in ("approve", "deny"):
        raise web.HTTPBadRequest(text="decision is approve or deny")
    identity = str(me.discord_id) if me.discord_id is not None else f"web:{me.person}"
    services.approvals.decide(
        request_id,
        decision == "approve",
        by=me.person,
        identity=identity,
        via="web",
        reason=(form.get("reason") or "").strip()[:500] or None,
    )
    raise web.HTTPSeeOther("/approvals")
