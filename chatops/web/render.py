"""Pages from templates, with the headers every answer of the dashboard carries.

Jinja2 renders every page on the server with autoescaping on: a bot's name, a command or a file
preview is text wherever it lands, whatever it holds. The Content-Security-Policy allows scripts
and styles from this origin only (no inline script, no ``eval``), so even markup that slipped
through could not run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jinja2
from aiohttp import web

from chatops.presentation.formatting import describe_duration

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}

CLOCK = "%Y-%m-%d %H:%M %Z"

templates = jinja2.Environment(
    loader=jinja2.PackageLoader("chatops.web", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["duration"] = lambda seconds: (
    "" if seconds is None else describe_duration(float(seconds))
)


def clock_text(ts: float | None) -> str:
    """A moment as pages show it: the controller's local time, with its zone."""
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).astimezone().strftime(CLOCK)


templates.filters["clock"] = clock_text


def page(template: str, status: int = 200, **context: Any) -> web.Response:
    return html_response(render(template, **context), status)


def render(template: str, **context: Any) -> str:
    return templates.get_template(template).render(**context)


def html_response(html: str, status: int = 200) -> web.Response:
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


@web.middleware
async def security_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    response: web.StreamResponse = await handler(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "max-age=3600"
    return response
