"""Signing in to the dashboard, and who each request is.

``GET /login/<token>`` shows a button and ``POST /login`` spends the token: a link preview (a
chat client fetching the URL to show a card) must not use up a one-time link. The session's
token goes into an HttpOnly, SameSite=Strict cookie (Secure under TLS, as the proxy says with
``X-Forwarded-Proto`` or ``web.public_url`` starts with https). Every page needs a session; every
state-changing request also needs the session's CSRF token and a role the service allows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from chatops.composition.services import Services
from chatops.records.web import Role, WebSession
from chatops.services.errors import Conflict, DomainError, Invalid, NotFound, Refused
from chatops.services.web_sessions import LoginRefused, WebSessions
from chatops.web.render import page

COOKIE = "chatops_session"
SESSION_KEY = web.RequestKey("session", WebSession)
COOKIE_VALUE_KEY = web.RequestKey("cookie_value", str)
PUBLIC = ("/login", "/static/", "/healthz", "/metrics")
"""Paths answered without a session."""

ERROR_STATUS: dict[type[DomainError], int] = {
    Refused: 403,
    NotFound: 404,
    Conflict: 409,
    Invalid: 400,
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


SERVICES_KEY = web.AppKey("services", Services)


def sessions_of(request: web.Request) -> WebSessions:
    return request.app[SERVICES_KEY].web_sessions


def viewer(request: web.Request) -> WebSession:
    """The request's session (the middleware let it through, so there is one)."""
    return request[SESSION_KEY]


def csrf(request: web.Request) -> str:
    return sessions_of(request).csrf_token(request[COOKIE_VALUE_KEY])


async def check_change(request: web.Request, needed: Role) -> dict[str, str]:
    """The form of a state-changing request, once its CSRF token and the session's role are
    checked (raises :class:`Refused`, answered 403 by the middleware)."""
    form = {key: str(value) for key, value in (await request.post()).items()}
    sessions = sessions_of(request)
    sessions.check_csrf(
        request[COOKIE_VALUE_KEY], form.get("csrf") or request.headers.get("X-CSRF")
    )
    sessions.require(viewer(request), needed)
    return form


@web.middleware
async def signed_in(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(PUBLIC):
        return await handler(request)
    token = request.cookies.get(COOKIE)
    session = sessions_of(request).authenticate(token)
    if session is None or token is None:
        return page("signin.html", status=401, error=None, token=None)
    request[SESSION_KEY] = session
    request[COOKIE_VALUE_KEY] = token
    try:
        return await handler(request)
    except DomainError as exc:
        # Refused (a role, a CSRF token): 403; the service's other refusals say why too.
        status = next((code for kind, code in ERROR_STATUS.items() if isinstance(exc, kind)), 400)
        return page("refused.html", status=status, reason=str(exc), me=session)


def still_signed_in(request: web.Request) -> Callable[[], bool]:
    """Whether the request's session still holds (for a stream that outlives the request's
    first check: a revoked session's live page stops being told)."""
    token = request[COOKIE_VALUE_KEY]
    sessions = sessions_of(request)
    return lambda: sessions.authenticate(token) is not None


async def login_form_empty(request: web.Request) -> web.Response:
    return page("signin.html", token=None, error=None)


async def login_form(request: web.Request) -> web.Response:
    return page("signin.html", token=request.match_info["token"], error=None)


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    token = str(form.get("token") or "")
    client = request.remote or "unknown"
    try:
        opened = sessions_of(request).redeem(token, client)
    except LoginRefused as exc:
        return page("signin.html", status=403, token=None, error=str(exc))
    signed = web.HTTPSeeOther("/")
    signed.set_cookie(
        COOKIE,
        opened.token,
        max_age=int(opened.session.expires_at - opened.session.created_at),
        httponly=True,
        samesite="Strict",
        secure=_secure(request),
        path="/",
    )
    raise signed


async def logout(request: web.Request) -> web.StreamResponse:
    await check_change(request, Role.VIEWER)
    sessions_of(request).revoke(viewer(request).id)
    gone = web.HTTPSeeOther("/login")
    gone.del_cookie(COOKIE, path="/")
    raise gone


def _secure(request: web.Request) -> bool:
    public = sessions_of(request).config.public_url or ""
    forwarded = request.headers.get("X-Forwarded-Proto", "")
    return request.secure or forwarded == "https" or public.startswith("https://")
