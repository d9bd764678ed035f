"""``/web login`` and ``/web sessions`` against the loopback fake, with the controller's HTTP
listener serving the dashboard: each person's link opens a session with the role their Discord
roles give them, only admins see and revoke the sessions, and a revoked one signs nobody in."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from chatops.composition.controller import Controller
from chatops.config import HttpConfig
from chatops.records.web import Role
from cogs.ui.checks import ADMIN_REFUSAL
from tests.conftest import Running, fake_discord, start_bot
from tests.fake_discord import ADMIN_ROLE_ID, ADMIN_USER_ID, APPROVER_USER_ID, MEMBER_USER_ID
from tests.test_web_access_cli import fleet_page, sign_in

EPHEMERAL = 64
LINK = re.compile(r"🔑 <http://127\.0\.0\.1:(\d+)/login/([A-Za-z0-9_-]{40,})>")
OTHER_MEMBER_ID = "900000000000000405"


@pytest.fixture
async def dashboard(workdir: Path) -> AsyncIterator[Running]:
    """The real bot logged in to the fake, its controller serving the dashboard on a free
    loopback port, with an approver apart from the admins."""
    async with fake_discord(workdir) as (fake, settings):
        settings.http = HttpConfig(listen="127.0.0.1:0")
        settings.approvals.approver_user_ids = [int(APPROVER_USER_ID)]
        bot, task = await start_bot(settings, fake)
        try:
            yield Running(fake, bot, settings)
        finally:
            await bot.close()
            await asyncio.gather(task, return_exceptions=True)


async def login(running: Running, user_id: str, roles: list[str] | None = None) -> str:
    """``/web login`` as ``user_id``: the token of the link in its ephemeral answer."""
    _, answer = await running.slash("web login", user_id=user_id, roles=roles)
    data = answer["data"]
    assert data["flags"] == EPHEMERAL, data
    first, note = data["content"].split("\n")
    match = LINK.fullmatch(first)
    assert match is not None, data["content"]
    assert int(match[1]) == running.bot.controller.http_addresses[0][1]
    assert note.startswith("One-time link for ") and "press Sign in" in note
    return match[2]


async def test_each_person_signs_in_with_the_role_discord_gives_them(
    dashboard: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ctl: Controller = dashboard.bot.controller
    people = [
        (MEMBER_USER_ID, [], Role.VIEWER),
        (APPROVER_USER_ID, [], Role.APPROVER),
        (ADMIN_USER_ID, [], Role.ADMIN),
        (OTHER_MEMBER_ID, [ADMIN_ROLE_ID], Role.ADMIN),  # an admin by role, not by id
    ]
    tokens = []
    for user_id, roles, _ in people:
        token = await login(dashboard, user_id, roles)
        status, cookie = await sign_in(ctl, token)
        assert status == 303 and cookie is not None
        assert await fleet_page(ctl, cookie) == 200
        tokens += [token, cookie]
    sessions = ctl.services.web_sessions.sessions()
    assert [(s.person, s.discord_id, s.role) for s in sessions] == [
        (f"user{user_id[-3:]}", int(user_id), role) for user_id, _, role in people
    ]
    assert not any(token in caplog.text for token in tokens)


async def test_the_link_says_the_role_and_how_long_it_waits(dashboard: Running) -> None:
    _, answer = await dashboard.slash("web login", user_id=MEMBER_USER_ID)
    note = answer["data"]["content"].split("\n")[1]
    assert dashboard.bot.services.web_sessions.sessions() == []  # a link is no session yet
    assert note.startswith("One-time link for user402 as **viewer**: open it within 5m 0s (")
    assert re.search(r"\(until <t:\d+:R>\)", note)


async def test_only_admins_list_and_revoke_and_a_revoked_session_signs_nobody_in(
    dashboard: Running,
) -> None:
    ctl: Controller = dashboard.bot.controller
    _, cookie = await sign_in(ctl, await login(dashboard, MEMBER_USER_ID))
    assert cookie is not None
    [session] = ctl.services.web_sessions.sessions()

    for user_id in (MEMBER_USER_ID, APPROVER_USER_ID):
        revoke = [{"type": 4, "name": "revoke", "value": session.id}]
        _, refused = await dashboard.slash("web sessions", revoke, user_id=user_id)
        assert (refused["data"]["content"], refused["data"]["flags"]) == (ADMIN_REFUSAL, EPHEMERAL)
    assert ctl.services.web_sessions.sessions() == [session]
    assert await fleet_page(ctl, cookie) == 200

    _, listing = await dashboard.slash("web sessions")
    data: dict[str, Any] = listing["data"]
    assert data["flags"] == EPHEMERAL
    [embed] = data["embeds"]
    assert embed["title"] == "Web sessions"
    assert embed["description"].startswith(f"#{session.id} **user402** · viewer · signed in <t:")

    revoke = [{"type": 4, "name": "revoke", "value": session.id}]
    _, revoked = await dashboard.slash("web sessions", revoke)
    data = revoked["data"]
    assert data["flags"] == EPHEMERAL
    assert data["content"] == (
        f"Web session #{session.id} (user402, viewer) revoked: its next request is refused."
    )
    assert data["embeds"][0]["description"] == "No live web sessions."
    assert await fleet_page(ctl, cookie) == 401
    _, again = await dashboard.slash("web sessions", revoke)
    assert again["data"]["content"] == f"no live web session \\#{session.id}"  # the service's
    assert again["data"]["flags"] == EPHEMERAL


async def test_without_a_dashboard_the_answer_says_so_and_no_link_is_made(
    running: Running,
) -> None:
    """``running``'s controller has no ``http.listen``: no dashboard, no link."""
    _, answer = await running.slash("web login", user_id=MEMBER_USER_ID)
    data = answer["data"]
    assert data["flags"] == EPHEMERAL
    assert data["content"].startswith("the web dashboard is off: http.listen is empty")
    assert "/login/" not in data["content"]
    await running.bot.controller.store.flush()
    links = await running.bot.controller.store.web.links(0)
    assert links.rows == []
