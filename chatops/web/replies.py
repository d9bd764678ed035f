"""Replying to a coding-agent session from its page: the words go to the replies service, as
Discord's Reply button and ``/agent reply`` send them (an approver's right: a reply makes an
agent act, as an approval does). The words are the operator's and may hold a secret: they are
never logged here (the service logs their length) nor shown back in the answer."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from chatops.composition.services import Services
from chatops.records.web import Role
from chatops.web.auth import SERVICES_KEY, check_change, csrf, viewer
from chatops.web.render import page


async def reply(request: web.Request) -> web.Response:
    """``POST /bot/reply``: ``name`` the session, ``text`` the words (1 to 4,000 characters,
    checked by the service)."""
    form = await check_change(request, Role.APPROVER)
    services: Services = request.app[SERVICES_KEY]
    me = viewer(request)
    name = form.get("name", "")
    text = form.get("text", "").replace("\r\n", "\n")  # a textarea's lines come as CRLF
    outcome = services.replies.reply(f"{me.person} (web)", name, text, via="web")
    told = (
        "it goes on with the reply" if outcome.delivered else "kept until it next waits for a reply"
    )
    return page(
        "done.html",
        me=me,
        csrf=csrf(request),
        back=f"/bot?name={quote(name, safe='')}",
        what=f"Reply sent to {outcome.agent}: {told}.",
    )
