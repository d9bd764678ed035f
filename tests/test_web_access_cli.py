"""``chatops web login`` and ``chatops web sessions [revoke ID]`` as real processes against a
controller in this test's loop, whose HTTP listener serves the dashboard: the link printed opens
a session there, a revoked session no longer does, and without a dashboard nothing is issued."""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from chatops.composition.controller import Controller
from chatops.config import HttpConfig, Settings
from chatops.records.web import Role
from tests.conftest import automation_settings, make_settings, query, register
from tests.test_approvals_cli import CHATOPS, config_file, in_terminal, run_chatops

COOKIE = "chatops_session"
LINK = re.compile(r"http://127\.0\.0\.1:(\d+)/login/([A-Za-z0-9_-]{40,})")


def with_dashboard(settings: Settings) -> Settings:
    settings.http = HttpConfig(listen="127.0.0.1:0")
    return settings


def base(ctl: Controller) -> str:
    host, port = ctl.http_addresses[0]
    return f"http://{host}:{port}"


async def sign_in(ctl: Controller, token: str) -> tuple[int, str | None]:
    """POST the link's token as the Sign in button does: the status and the session cookie."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{base(ctl)}/login", data={"token": token}, allow_redirects=False) as reply,
    ):
        cookie = reply.cookies.get(COOKIE)
        return reply.status, cookie.value if cookie is not None else None


async def fleet_page(ctl: Controller, cookie: str) -> int:
    """The dashboard's front page with the session's cookie: 200 signed in, 401 not."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{base(ctl)}/", headers={"Cookie": f"{COOKIE}={cookie}"}) as reply,
    ):
        return reply.status


def printed_link(ctl: Controller, out: str) -> str:
    """The token of the link on the first line, checked to lead to this controller."""
    first = out.splitlines()[0]
    match = LINK.fullmatch(first)
    assert match is not None, out
    assert int(match[1]) == ctl.http_addresses[0][1]  # the port bound, not the 0 configured
    return match[2]


async def test_the_link_printed_opens_an_admin_session_once_and_nothing_logs_it(
    workdir: Path, start_controller: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = with_dashboard(automation_settings(workdir))
    config = config_file(workdir, settings)
    ctl: Controller = await start_controller(settings)
    code, out, err = await run_chatops(config, "web", "login")
    assert code == 0 and err == "", err
    token = printed_link(ctl, out)
    person = f"cli (uid {os.geteuid()})"
    assert out.splitlines()[1].startswith(f"One-time link for {person} as admin: open it within ")
    assert "within 5m 0s (until " in out and out.count("\n") == 2

    status, cookie = await sign_in(ctl, token)
    assert status == 303 and cookie is not None
    assert await fleet_page(ctl, cookie) == 200
    [session] = ctl.services.web_sessions.sessions()
    assert (session.person, session.role, session.discord_id) == (person, Role.ADMIN, None)
    assert await sign_in(ctl, token) == (403, None)  # one time only
    # Neither the link nor the session's token is in the log, nor in the database in clear.
    assert token not in caplog.text and cookie not in caplog.text
    db = settings.monitoring.database_path
    assert query(db, "SELECT COUNT(*) FROM web_links WHERE token_hash = ?", (token,)) == [(0,)]


async def test_a_role_asked_for_is_the_session_s_and_a_bad_one_is_a_usage_error(
    workdir: Path, start_controller: Any
) -> None:
    settings = with_dashboard(automation_settings(workdir))
    config = config_file(workdir, settings)
    ctl: Controller = await start_controller(settings)
    for role in ("viewer", "approver"):
        code, out, err = await run_chatops(config, "web", "login", "--role", role)
        assert code == 0, err
        assert f" as {role}: " in out
        status, _ = await sign_in(ctl, printed_link(ctl, out))
        assert status == 303
    roles = [s.role for s in ctl.services.web_sessions.sessions()]
    assert roles == [Role.VIEWER, Role.APPROVER]
    code, out, err = await run_chatops(config, "web", "login", "--role", "root")
    assert code == 2 and out == "" and "invalid choice: 'root'" in err


async def test_sessions_are_listed_and_a_revoked_one_no_longer_signs_in(
    workdir: Path, start_controller: Any
) -> None:
    settings = with_dashboard(automation_settings(workdir))
    config = config_file(workdir, settings)
    ctl: Controller = await start_controller(settings)
    sessions = ctl.services.web_sessions
    kept = sessions.redeem(sessions.issue_link("alice", Role.APPROVER, discord_id=42), "test")
    code, out, _ = await run_chatops(config, "web", "login", "--role", "viewer")
    _, cookie = await sign_in(ctl, printed_link(ctl, out))
    assert cookie is not None and await fleet_page(ctl, cookie) == 200
    [alice, mine] = sessions.sessions()

    code, out, err = await run_chatops(config, "web", "sessions")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"#{alice.id} alice · approver · signed in ")
    assert lines[1].startswith(f"#{mine.id} cli (uid {os.geteuid()}) · viewer · signed in ")
    assert lines[0].endswith(" · last seen not yet") and " · last seen 20" in lines[1]
    code, out, _ = await run_chatops(config, "web", "sessions", "--json")
    items = json.loads(out)
    assert [item["id"] for item in items] == [alice.id, mine.id]
    assert items[0] == {
        "id": alice.id,
        "person": "alice",
        "role": "approver",
        "discord_id": 42,
        "created_at": alice.created_at,
        "expires_at": alice.expires_at,
        "last_seen_at": alice.last_seen_at,
    }
    assert all("token" not in key for item in items for key in item)

    code, out, err = await run_chatops(config, "web", "sessions", "revoke", str(mine.id))
    assert code == 0, err
    assert out == (
        f"Web session #{mine.id} (cli (uid {os.geteuid()}), viewer) revoked: "
        "its next request is refused.\n"
    )
    assert await fleet_page(ctl, cookie) == 401
    assert sessions.authenticate(kept.token) is alice  # the other one is untouched
    db = settings.monitoring.database_path
    [(revoked_at,)] = query(db, "SELECT revoked_at FROM web_sessions WHERE id = ?", (mine.id,))
    assert revoked_at is not None  # answered once on disk
    code, out, err = await run_chatops(config, "web", "sessions", "revoke", str(mine.id))
    assert code == 1 and out == ""
    assert err == f"chatops: refused: not_found: no live web session #{mine.id}\n"
    code, out, err = await run_chatops(config, "web", "sessions", "revoke", "mine")
    assert code == 2 and "invalid int value: 'mine'" in err


async def test_without_a_dashboard_no_link_is_issued_and_the_shell_is_told_why(
    workdir: Path, start_controller: Any
) -> None:
    settings = automation_settings(workdir)  # http.listen empty
    config = config_file(workdir, settings)
    ctl: Controller = await start_controller(settings)
    code, out, err = await run_chatops(config, "web", "login")
    assert code == 1 and out == "" and err.count("\n") == 1, (out, err)
    assert err.startswith("chatops: refused: conflict: the web dashboard is off: http.listen is ")
    await ctl.store.flush()
    assert query(settings.monitoring.database_path, "SELECT COUNT(*) FROM web_links") == [(0,)]


async def test_an_agent_s_shell_tool_gets_no_approver_or_admin_link_by_default(
    workdir: Path, start_controller: Any
) -> None:
    """An admin's link decides approvals in the browser: under the default
    ``approvals.socket_decisions: interactive`` a process without a terminal (an agent's shell
    tool) gets a viewer's link at most; a terminal gets an admin's."""
    settings = with_dashboard(make_settings(workdir))
    config = config_file(workdir, settings)
    ctl: Controller = await start_controller(settings)
    for role in ("admin", "approver"):
        code, out, err = await run_chatops(config, "web", "login", "--role", role)
        assert code == 1 and out == "" and "do this from a terminal" in err, (role, err)
    code, out, err = await run_chatops(config, "web", "login", "--role", "viewer")
    assert code == 0, err
    code, out = await in_terminal(CHATOPS, "--config", str(config), "web", "login")
    assert code == 0, out
    status, _ = await sign_in(ctl, printed_link(ctl, out.replace("\r", "")))
    assert status == 303
    assert [s.role for s in ctl.services.web_sessions.sessions()] == [Role.ADMIN]


async def test_a_connection_that_registered_a_bot_gets_no_link_and_no_list(
    workdir: Path, start_controller: Any
) -> None:
    """The operator's narrow door: a connection that speaks for a bot may not ask for a link,
    list the sessions or revoke one."""
    settings = with_dashboard(automation_settings(workdir))
    ctl: Controller = await start_controller(settings)
    sessions = ctl.services.web_sessions
    opened = sessions.redeem(sessions.issue_link("alice", Role.ADMIN), "test")
    agent = await register(settings, "el_serda")
    try:
        for request in (
            {"type": "web_login", "role": "viewer"},
            {"type": "web_sessions"},
            {"type": "web_revoke", "session": opened.session.id},
        ):
            reply = await agent.request({"id": request["type"], **request})
            assert reply["ok"] is False and reply["error"]["code"] == "permission_denied", reply
            assert "speaks for a bot or an agent" in reply["error"]["message"]
        assert sessions.sessions() == [opened.session]
    finally:
        await agent.close()


async def test_without_a_controller_each_command_says_so_in_one_line(workdir: Path) -> None:
    config = config_file(workdir, make_settings(workdir))
    for argv in (("web", "login"), ("web", "sessions"), ("web", "sessions", "revoke", "1")):
        code, out, err = await run_chatops(config, *argv)
        assert code == 3 and out == "", (argv, out)
        assert err.startswith("chatops: no controller answers on ") and err.count("\n") == 1, err
