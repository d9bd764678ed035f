"""What admins change from a bot's page: a restart and a silence, through the same services
``/recover restart`` and ``/silence`` use."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from chatops.composition.services import Services
from chatops.records.web import Role
from chatops.web.auth import SERVICES_KEY, check_change, csrf, viewer
from chatops.web.render import page


async def restart(request: web.Request) -> web.Response:
    form = await check_change(request, Role.ADMIN)
    services: Services = request.app[SERVICES_KEY]
    name = form.get("name", "")
    report = await services.restarts.restart(name, by=f"{viewer(request).person} (web)")
    return page(
        "done.html",
        me=viewer(request),
        csrf=csrf(request),
        back=f"/bot?name={quote(name, safe='')}",
        what=report.summary,
    )


async def silence(request: web.Request) -> web.Response:
    form = await check_change(request, Role.ADMIN)
    services: Services = request.app[SERVICES_KEY]
    name = form.get("name", "")
    try:
        minutes = float(form.get("minutes", "60"))
    except ValueError:
        raise web.HTTPBadRequest(text="minutes is a number") from None
    services.silences.check_length(minutes * 60)
    made = services.silences.silence_bot(
        name,
        minutes * 60,
        created_by=f"{viewer(request).person} (web)",
        reason=(form.get("reason") or "").strip()[:200] or None,
    )
    return page(
        "done.html",
        me=viewer(request),
        csrf=csrf(request),
        back=f"/bot?name={quote(name, safe='')}",
        what=f"silence #{made.id}: {name} for {minutes:g} minutes",
    )
