"""Signing in to the web dashboard over HTTP: one-time links, the session cookie, CSRF, roles,
the rate limit on guesses, revocation, and the headers every page carries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from chatops.composition.controller import Controller
from chatops.config.http import HttpConfig, WebConfig
from chatops.records.web import Role
from chatops.services.web_sessions import token_hash
from tests.conftest import http_base, make_settings, query


async def started(start_controller: Any, workdir: Path, **web: Any) -> Controller:
    settings = make_settings(workdir)
    settings.http = HttpConfig(listen="127.0.0.1:0")
    settings.web = WebConfig(**web)
    ctl: Controller = await start_controller(settings)
    return ctl


def browser_like() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def test_a_link_opens_one_session_whose_cookie_is_httponly_and_strict(
    workdir: Path, start_controller: Any
) -> None:
    ctl = await started(start_controller, workdir)
    base = http_base(ctl)
    token = ctl.services.web_sessions.issue_link("alice", Role.APPROVER)
    async with browser_like() as http:
        async with http.get(f"{base}/login/{token}") as r:
            assert r.status == 200 and 'name="token"' in await r.text()
        assert not ctl.services.web_sessions.sessions()  # looking at the link spends nothing
        async with http.post(f"{base}/login", data={"token": token}, allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/"
            cookie = r.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
        async with http.get(f"{base}/") as r:
            assert r.status == 200 and "alice · approver" in await r.text()
    async with browser_like() as again, again.post(f"{base}/login", data={"token": token}) as r:
        assert r.status == 403 and "not valid" in await r.text()
    [session] = ctl.services.web_sessions.sessions()
    await ctl.store.flush()
    stored = query(ctl.store.path, "SELECT token_hash FROM web_sessions")
    links = query(ctl.store.path, "SELECT token_hash, used_at FROM web_links")
    assert stored == [(session.token_hash,)] and links[0][0] == token_hash(token) and links[0][1]
    files = ctl.store.path.parent.glob(ctl.store.path.name + "*")  # the database, its WAL
    raw = b"".join(path.read_bytes() for path in files)
    assert session.token_hash.encode() in raw  # the rows are there to look into
    assert token.encode() not in raw


async def test_behind_a_tls_proxy_the_cookie_is_secure(
    workdir: Path, start_controller: Any
) -> None:
    ctl = await started(start_controller, workdir, public_url="https://chatops.example.org")
    token = ctl.services.web_sessions.issue_link("alice", Role.VIEWER)
    async with (
        browser_like() as http,
        http.post(f"{http_base(ctl)}/login", data={"token": token}, allow_redirects=False) as r,
    ):
        assert "Secure" in r.headers["Set-Cookie"]


async def test_guessing_links_is_rate_limited_per_address(
    workdir: Path, start_controller: Any
) -> None:
    ctl = await started(start_controller, workdir, login_attempts=3)
    base = http_base(ctl)
    good = ctl.services.web_sessions.issue_link("alice", Role.VIEWER)
    async with browser_like() as http:
        for guess in range(3):
            async with http.post(f"{base}/login", data={"token": f"guess-{guess}"}) as r:
                assert r.status == 403 and "not valid" in await r.text()
        async with http.post(f"{base}/login", data={"token": good}) as r:
            assert r.status == 403 and "too many login attempts" in await r.text()
    assert not ctl.services.web_sessions.sessions()


async def test_a_revoked_session_and_a_signed_out_one_open_nothing(
    workdir: Path, start_controller: Any
) -> None:
    ctl = await started(start_controller, workdir)
    base = http_base(ctl)
    sessions = ctl.services.web_sessions
    async with browser_like() as http, browser_like() as other:
        for client, person in ((http, "alice"), (other, "bob")):
            token = sessions.issue_link(person, Role.VIEWER)
            async with client.post(f"{base}/login", data={"token": token}) as r:
                assert r.status == 200
        alice = next(s for s in sessions.sessions() if s.person == "alice")
        sessions.revoke(alice.id)
        async with http.get(f"{base}/") as r:
            assert r.status == 401
        async with other.get(f"{base}/") as r:
            page = await r.text()
        csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        async with other.post(f"{base}/logout", data={"csrf": csrf}) as r:
            assert r.status == 200 and "Sign in" in await r.text()
        async with other.get(f"{base}/") as r:
            assert r.status == 401
    assert sessions.sessions() == []


@pytest.mark.parametrize("path", ["/", "/approvals", "/login"])
async def test_every_page_carries_a_strict_csp_and_security_headers(
    workdir: Path, start_controller: Any, path: str
) -> None:
    ctl = await started(start_controller, workdir)
    token = ctl.services.web_sessions.issue_link("alice", Role.VIEWER)
    async with browser_like() as http:
        async with http.post(f"{http_base(ctl)}/login", data={"token": token}) as r:
            assert r.status == 200
        async with http.get(f"{http_base(ctl)}{path}") as r:
            csp = r.headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp
            assert "frame-ancestors 'none'" in csp
            assert r.headers["X-Content-Type-Options"] == "nosniff"
            assert r.headers["X-Frame-Options"] == "DENY"
            assert "<script>" not in await r.text()  # no inline script to allow


async def test_a_viewer_cannot_restart_or_silence_even_with_its_csrf_token(
    workdir: Path, start_controller: Any
) -> None:
    from tests.conftest import register

    ctl = await started(start_controller, workdir)
    client = await register(ctl.settings, "alpha")
    token = ctl.services.web_sessions.issue_link("viewer", Role.VIEWER)
    async with browser_like() as http:
        async with http.post(f"{http_base(ctl)}/login", data={"token": token}) as r:
            page = await r.text()
        assert "Restart" not in page
        async with http.get(f"{http_base(ctl)}/bot?name=alpha") as r:
            page = await r.text()
        assert 'id="restart"' not in page and 'id="silence"' not in page
        csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        for action in ("restart", "silence"):
            async with http.post(
                f"{http_base(ctl)}/bot/{action}", data={"csrf": csrf, "name": "alpha"}
            ) as r:
                assert r.status == 403 and "admin only" in await r.text()
    assert ctl.services.silences.active() == []
    assert ctl.services.fleet.bots["alpha"].status == "online"
    await client.close()


async def test_with_the_dashboard_on_a_headless_request_waits_for_an_approver(
    workdir: Path, start_controller: Any
) -> None:
    from tests.conftest import RawClient, wait_for

    settings = make_settings(workdir)
    settings.approvals.unattended = "answer"  # the default: answer what nobody can be told of
    settings.http = HttpConfig(listen="127.0.0.1:0")
    ctl: Controller = await start_controller(settings)
    client = await RawClient.connect(settings.monitoring.socket_path)
    await client.send(
        {
            "id": "ask",
            "type": "approval_request",
            "agent": "coder",
            "action_type": "terminal_command",
            "data": {"command": "make deploy"},
        }
    )
    [record] = await wait_for(ctl.services.approvals.pending)  # shown on /approvals, waiting
    assert record.via is None
    await client.close()
