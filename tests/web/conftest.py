"""The web dashboard's test harness: a real controller serving ``http.listen`` on a free
loopback port, and browsers-without-a-browser signed in to it (aiohttp clients keeping cookies).

* ``web_settings``: settings with the HTTP listener on (and a ``daily`` budget).
* ``site``: a started controller on them, and ``site.signed_in(role)``, a :class:`Dashboard`
  signed in as that role through a real one-time link (``POST /login``), as a person is.
* ``populate`` (from ``tests/test_metrics.py``): something in every family.
* :func:`form_fields`: what a page's form would post, read from its HTML; :func:`next_topics`:
  the next topics ``/events`` tells of.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from chatops.composition.controller import Controller
from chatops.config import Settings
from chatops.records.web import Role
from tests.conftest import http_base
from tests.test_metrics import http_settings

FormData = Mapping[str, str] | Sequence[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Page:
    status: int
    text: str
    headers: Mapping[str, str]


class Dashboard:
    """One signed-in browser: its cookie jar holds the session, :attr:`csrf` its token."""

    def __init__(self, ctl: Controller, http: aiohttp.ClientSession, role: Role) -> None:
        self.ctl = ctl
        self.http = http
        self.role = role
        self.base = http_base(ctl)
        self.csrf = ""

    async def get(self, path: str) -> Page:
        async with self.http.get(self.base + path, allow_redirects=False) as response:
            return Page(response.status, await response.text(), response.headers)

    async def post(self, path: str, data: FormData, *, csrf: bool = True) -> Page:
        """POST ``data`` as a form, with the session's CSRF token unless ``csrf`` is False."""
        fields = list(data.items()) if isinstance(data, Mapping) else list(data)
        if csrf:
            fields.append(("csrf", self.csrf))
        async with self.http.post(self.base + path, data=fields, allow_redirects=False) as r:
            return Page(r.status, await r.text(), r.headers)


async def next_topics(stream: aiohttp.StreamReader, timeout: float = 10.0) -> str:
    """The topics of the next ``data:`` line of ``/events`` (a bound only against hangs)."""

    async def read() -> str:
        while True:
            line = (await stream.readline()).decode()
            if not line:
                raise ConnectionResetError("the event stream ended")
            if line.startswith("data: "):
                return line[len("data: ") :].strip()

    return await asyncio.wait_for(read(), timeout)


def form_fields(text: str, form_id: str) -> list[tuple[str, str]]:
    """The hidden fields of the form ``id="form_id"`` in ``text``, as a browser would post them."""
    match = re.search(rf'<form[^>]*id="{re.escape(form_id)}"[^>]*>(.*?)</form>', text, re.S)
    assert match, f"no form {form_id!r} on the page"
    return [
        (html.unescape(name), html.unescape(value))
        for name, value in re.findall(
            r'<input type="hidden" name="([^"]*)" value="([^"]*)">', match.group(1)
        )
    ]


class Site:
    """A started controller with its web door, and the browsers signed in to it."""

    def __init__(self, ctl: Controller, settings: Settings) -> None:
        self.ctl = ctl
        self.settings = settings
        self.browsers: list[aiohttp.ClientSession] = []

    @property
    def services(self) -> Any:
        return self.ctl.services

    async def anonymous(self) -> Dashboard:
        """A browser with no session (``CookieJar(unsafe=True)``: the host is an IP address)."""
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.browsers.append(http)
        return Dashboard(self.ctl, http, Role.VIEWER)

    async def signed_in(self, role: Role, person: str = "alice") -> Dashboard:
        """Signed in through a one-time link, as ``chatops web login`` or ``/web login`` give."""
        browser = await self.anonymous()
        browser.role = role
        token = self.ctl.services.web_sessions.issue_link(person, role)
        landed = await browser.post("/login", {"token": token}, csrf=False)
        assert landed.status == 303, landed.text
        home = await browser.get("/")
        assert home.status == 200, home.text
        found = re.search(r'name="csrf" value="([0-9a-f]+)"', home.text)
        assert found, "no CSRF token on the signed-in page"
        browser.csrf = found.group(1)
        return browser

    async def close(self) -> None:
        for http in self.browsers:
            await http.close()


@pytest.fixture
def web_settings(workdir: Path) -> Settings:
    return http_settings(workdir)


@pytest.fixture
async def site(web_settings: Settings, start_controller: Any) -> AsyncIterator[Site]:
    ctl = await start_controller(web_settings)
    made = Site(ctl, web_settings)
    try:
        yield made
    finally:
        await made.close()
