"""The web dashboard in a real headless Chromium: signing in, a live fleet of real bots, an
approval decided in the browser (and shown in Discord), roles, and hostile names.

The bounds in seconds are the issue's own requirements (a page live within 1 s of a change, a
killed bot shown down within 2 s), not guesses at how slow the machine is."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from selenium.webdriver.common.by import By

from chatops.composition.controller import Controller
from chatops.config.http import HttpConfig
from chatops.records.web import Role
from tests.browser import Browser, chromium
from tests.cogs.test_approvals import Agent, approval_settings, new_prompt, outcome, prompts
from tests.conftest import (
    FakeClock,
    fake_discord,
    http_base,
    kill_quietly,
    make_settings,
    register,
    spawn_bot,
    start_bot,
    wait_for,
)

pytestmark = pytest.mark.timeout(180)


async def sign_in(browser: Browser, ctl: Controller, role: Role, person: str = "tester") -> None:
    token = ctl.services.web_sessions.issue_link(person, role)
    await browser.get(f"{http_base(ctl)}/login/{token}")
    await browser.call(lambda: browser.driver.find_element(By.ID, "signin").click())
    await browser.until(lambda: browser.driver.find_elements(By.ID, "fleet"), 10, "the fleet page")


def web_settings(workdir: Path) -> Any:
    settings = make_settings(workdir)
    settings.http = HttpConfig(listen="127.0.0.1:0")
    return settings


async def test_a_one_time_link_signs_in_once_and_an_expired_one_never(
    workdir: Path, start_controller: Any
) -> None:
    clock = FakeClock(1_800_000_000.0)
    ctl = await start_controller(web_settings(workdir), clock=clock)
    sessions = ctl.services.web_sessions
    base = http_base(ctl)
    async with chromium() as browser:
        await browser.get(f"{base}/")
        assert "Sign in" in (await browser.find("h1")).text  # no session: no fleet
        token = sessions.issue_link("alice", Role.VIEWER)
        await browser.get(f"{base}/login/{token}")
        await browser.call(lambda: browser.driver.find_element(By.ID, "signin").click())
        await browser.until(lambda: browser.driver.find_elements(By.ID, "fleet"), 10, "fleet")
        assert "alice · viewer" in (await browser.find("header .who span")).text
        cookie = await browser.call(browser.driver.get_cookie, "chatops_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert len(sessions.sessions()) == 1

    async with chromium() as other:  # the same link again, from another browser
        await other.get(f"{base}/login/{token}")
        await other.call(lambda: other.driver.find_element(By.ID, "signin").click())
        refusal = await other.until(
            lambda: other.driver.find_elements(By.CSS_SELECTOR, ".error"), 10, "the refusal"
        )
        assert "not valid" in refusal[0].text
        late = sessions.issue_link("bob", Role.VIEWER)
        clock.advance(sessions.config.link_minutes * 60 + 1)
        await other.get(f"{base}/login/{late}")
        await other.call(lambda: other.driver.find_element(By.ID, "signin").click())
        refusal = await other.until(
            lambda: other.driver.find_elements(By.CSS_SELECTOR, ".error"), 10, "the refusal"
        )
        assert "not valid" in refusal[0].text
        await other.get(f"{base}/")
        assert not await other.all("#fleet")
    assert [s.person for s in sessions.sessions()] == ["alice"]


async def test_fifty_real_bots_and_a_killed_one_shows_down_without_a_reload(
    workdir: Path, start_controller: Any
) -> None:
    settings = web_settings(workdir)
    ctl = await start_controller(settings)
    bots: list[subprocess.Popen[bytes]] = []
    try:
        for i in range(50):
            bots.append(
                spawn_bot(
                    "simple_bot.py", str(settings.monitoring.socket_path), f"bot-{i:02d}", "5"
                )
            )
        for bot in bots:
            assert bot.stdout is not None
            line = await asyncio.to_thread(bot.stdout.readline)
            assert line.strip() == b"READY"
        async with chromium() as browser:
            await sign_in(browser, ctl, Role.VIEWER)
            rows = await browser.all("#fleet tbody tr")
            assert len(rows) == 50
            await browser.call(browser.script, "window.notReloaded = true")
            victim = "bot-17"
            row = f'#fleet tr[data-bot="{victim}"] .status'
            assert await browser.text(row) == "online"
            os.kill(bots[17].pid, signal.SIGKILL)
            await browser.until(
                lambda: browser.driver.find_element(By.CSS_SELECTOR, row).text == "down",
                2.0,
                f"{victim} shown down",
            )
            assert await browser.call(browser.script, "return window.notReloaded") is True
            assert await browser.text('#fleet tr[data-bot="bot-18"] .status') == "online"
    finally:
        for bot in bots:
            kill_quietly(bot)


async def test_an_approval_decided_in_the_browser_answers_the_agent_and_discord(
    workdir: Path,
) -> None:
    async with fake_discord(workdir) as (fake, settings):
        settings = approval_settings(settings)
        settings.http = HttpConfig(listen="127.0.0.1:0")
        bot, task = await start_bot(settings, fake)
        agent = Agent(settings)
        try:
            await agent.ready()
            ctl = bot.controller
            async with chromium() as browser:
                await sign_in(browser, ctl, Role.APPROVER, person="webapprover")
                await browser.get(f"{http_base(ctl)}/approvals")
                await browser.until(
                    lambda: (
                        browser.driver.execute_script("return document.body.dataset.live") == "on"
                    ),
                    10,
                    "the live stream open",
                )
                agent.ask({"command": "git push origin main"})
                await wait_for(lambda: ctl.services.approvals.pending(), timeout=10)
                [record] = ctl.services.approvals.pending()
                article = f"#approval-{record.id}"
                await browser.until(
                    lambda: browser.driver.find_elements(By.CSS_SELECTOR, article),
                    1.0,
                    "the request on the approvals page",
                )
                assert "git push origin main" in (await browser.find(f"{article} .summary")).text
                prompt = await new_prompt(fake, 1)
                await browser.call(
                    lambda: browser.driver.find_element(
                        By.CSS_SELECTOR, f"{article} button.approve"
                    ).click()
                )
                answer = await agent.answer(timeout=1.0)
                assert answer["approved"] is True, answer
                await wait_for(lambda: "Approved by" in outcome(fake.messages[prompt["id"]]))
                assert "webapprover" in outcome(fake.messages[prompt["id"]])
                assert len(prompts(fake)) == 1
        finally:
            agent.stop()
            await bot.close()
            await asyncio.gather(task, return_exceptions=True)


async def test_a_viewer_sees_no_buttons_and_forged_posts_decide_nothing(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir)
    settings.http = HttpConfig(listen="127.0.0.1:0")
    ctl = await start_controller(settings)
    client = await register(settings, "alpha")
    asking = asyncio.create_task(
        client.request(
            {
                "id": "ask",
                "type": "approval_request",
                "agent": "coder",
                "action_type": "terminal_command",
                "data": {"command": "make deploy"},
            },
            timeout=60,
        )
    )
    await wait_for(lambda: ctl.services.approvals.pending())
    [record] = ctl.services.approvals.pending()
    base = http_base(ctl)
    async with chromium() as browser:
        await sign_in(browser, ctl, Role.VIEWER, person="viewer")
        await browser.get(f"{base}/approvals")
        assert (await browser.find(f"#approval-{record.id} .summary")).text
        assert not await browser.all(f"#approval-{record.id} button")
        viewer_cookie = (await browser.call(browser.driver.get_cookie, "chatops_session"))["value"]

    approver_token = ctl.services.web_sessions.issue_link("approver", Role.APPROVER)
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.post(f"{base}/login", data={"token": approver_token}) as r:
            assert r.status == 200
        # An approver's session, but no CSRF token: what a page of another site could send.
        async with http.post(f"{base}/approvals/{record.id}", data={"decision": "approve"}) as r:
            assert r.status == 403 and "CSRF" in await r.text()
    async with aiohttp.ClientSession(
        cookies={"chatops_session": viewer_cookie}, cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as http:
        async with http.get(f"{base}/approvals") as r:
            assert r.status == 200
        csrf = ctl.services.web_sessions.csrf_token(viewer_cookie)
        async with http.post(
            f"{base}/approvals/{record.id}", data={"decision": "approve", "csrf": csrf}
        ) as r:
            assert r.status == 403 and "approver only" in await r.text()
    assert ctl.services.approvals.records[record.id].pending
    assert not asking.done()
    asking.cancel()
    await client.close()


async def test_a_bot_named_with_markup_is_text_and_runs_no_script(
    workdir: Path, start_controller: Any
) -> None:
    settings = web_settings(workdir)
    ctl = await start_controller(settings)
    name = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
    client = await register(settings, name, "plain")
    async with chromium() as browser:
        await sign_in(browser, ctl, Role.ADMIN)
        cell = await browser.find('#fleet tr[data-bot] td a[href^="/bot?name=%3Cimg"]')
        assert cell.text == name
        assert await browser.call(browser.script, "return window.pwned === undefined") is True
        assert not await browser.all("#fleet img") and not await browser.all("#fleet script")
        await browser.call(cell.click)
        await browser.until(lambda: browser.driver.find_elements(By.ID, "bot-name"), 10, "bot page")
        assert (await browser.find("#bot-name")).text == name
        assert await browser.call(browser.script, "return window.pwned === undefined") is True
    await client.close()
