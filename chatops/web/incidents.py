"""Incidents and silences: what is wrong now, what is silenced and until when, the alerts still
waiting for a sink; admins silence a bot (or one kind of its alerts), hold everything for
maintenance, and end a silence early.

Each change is the silence service's own call, as ``/silence``, ``/maintenance`` and
``/unsilence`` make it, with the same limits (a known bot, at most 30 days, an active silence to
end): the service refuses, the middleware answers the refusal. Maintenance holds every alert, so
its form asks for a tick first, as Discord asks for a confirmation.

Recent alerts are not shown: alerts leave the outbox once delivered and no service keeps them
for reading (the Discord channel and the webhooks have them). The page shows those not yet
delivered instead, which is what an operator looking for a lost alert wants to see.

The page is live on ``incidents`` (the router tells of every incident change). A silence made
here is told to open pages at once; one made in Discord or from a shell has no event, so the page
also reads itself again every :data:`REFRESH` seconds.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from chatops.composition.services import Services
from chatops.presentation.formatting import parse_duration
from chatops.presentation.markup import TERMINAL
from chatops.presentation.silences import ended_text, silenced_text
from chatops.records.alerts import Incident
from chatops.records.web import Role
from chatops.services.errors import Invalid
from chatops.web.auth import SERVICES_KEY, check_change, csrf, viewer
from chatops.web.live import LIVE_KEY
from chatops.web.render import clock_text, page

REFRESH = 30
UNDELIVERED_SHOWN = 50
RECENT_SHOWN = 30


def by_urgency(incident: Incident) -> tuple[int, float]:
    """Worst first, then the newest."""
    return (incident.severity.rank, -incident.opened_at)


async def incidents_page(request: web.Request) -> web.Response:
    services: Services = request.app[SERVICES_KEY]
    me = viewer(request)
    router = services.alerts
    incidents = sorted(router.incidents.values(), key=by_urgency)
    pending = services.delivery.pending
    context: dict[str, Any] = {
        "me": me,
        "csrf": csrf(request),
        "is_admin": me.role.allows(Role.ADMIN),
        "incidents": [(incident, router.held(incident)) for incident in incidents],
        "silences": services.silences.active(),
        "recent": list(router.recent)[:RECENT_SHOWN],
        "undelivered": pending[:UNDELIVERED_SHOWN],
        "undelivered_count": len(pending),
        "refresh": REFRESH,
        "now": services.clock(),
    }
    part = request.query.get("part")
    return page("incidents_live.html" if part == "live" else "incidents.html", **context)


def seconds_of(form: dict[str, str]) -> float:
    """The form's ``duration`` (``30m``, ``2h``, ``1d``), as ``/silence`` reads it."""
    try:
        return parse_duration(form.get("duration", ""))
    except ValueError as exc:
        raise Invalid(f"invalid duration: {exc}") from None


def reason_of(form: dict[str, str]) -> str | None:
    return (form.get("reason") or "").strip()[:200] or None


def by_whom(request: web.Request) -> str:
    return f"{viewer(request).person} (web)"


def done(request: web.Request, what: str) -> web.Response:
    request.app[LIVE_KEY].publish("incidents")  # every open incidents page shows it now
    return page("done.html", me=viewer(request), csrf=csrf(request), back="/incidents", what=what)


async def silence(request: web.Request) -> web.Response:
    """``POST /silences``: ``bot``, ``duration``, optional ``kind`` and ``reason``."""
    form = await check_change(request, Role.ADMIN)
    services: Services = request.app[SERVICES_KEY]
    bot = form.get("bot", "").strip()
    if not bot:
        raise Invalid("name the bot to silence")
    made = services.silences.silence_bot(
        bot,
        seconds_of(form),
        kind=(form.get("kind") or "").strip()[:64] or None,
        created_by=by_whom(request),
        reason=reason_of(form),
    )
    return done(request, silenced_text(made, TERMINAL, clock_text))


async def maintenance(request: web.Request) -> web.Response:
    """``POST /silences/maintenance``: ``duration``, ``reason`` and the ``confirm`` tick."""
    form = await check_change(request, Role.ADMIN)
    services: Services = request.app[SERVICES_KEY]
    seconds = seconds_of(form)
    services.silences.check_length(seconds)
    if form.get("confirm") != "yes":
        raise Invalid("maintenance holds every alert: tick the box to confirm")
    made = services.silences.add(None, seconds, created_by=by_whom(request), reason=reason_of(form))
    return done(request, silenced_text(made, TERMINAL, clock_text))


async def end_silence(request: web.Request) -> web.Response:
    """``POST /silences/<id>/end``."""
    await check_change(request, Role.ADMIN)
    services: Services = request.app[SERVICES_KEY]
    try:
        silence_id = int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound(text="no such silence") from None
    services.silences.end(silence_id, by=by_whom(request))
    return done(request, ended_text(silence_id))
