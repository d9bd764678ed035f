"""*Edit and approve* and a session's Reply in a real headless Chromium: the forms work under the
dashboard's CSP, and what a browser posts from a textarea (lines as CRLF) reaches the agent
with its own newlines."""

from __future__ import annotations

import os
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from chatops.records.web import Role
from chatops.services.callers import Caller
from tests.browser import chromium
from tests.conftest import RawClient, http_base, wait_for
from tests.test_session_views import start_session
from tests.test_web_browser import sign_in
from tests.web.conftest import Site

pytestmark = pytest.mark.timeout(180)


async def test_edit_and_approve_then_reply_in_the_browser(site: Site) -> None:
    ctl: Any = site.ctl
    agent = await RawClient.connect(site.settings.monitoring.socket_path)
    try:
        await agent.send(
            {"id": "ask", "type": "approval_request", "agent": "coder",
             "action_type": "terminal_command", "data": {"command": "git push origin main"}}
        )  # fmt: skip
        [record] = await wait_for(site.services.approvals.pending)
        start_session(site.services, "webapp")
        async with chromium() as browser:
            await sign_in(browser, ctl, Role.APPROVER, person="webapprover")
            await browser.get(f"{http_base(ctl)}/approvals")
            await browser.call(
                lambda: browser.driver.find_element(
                    By.CSS_SELECTOR, f"#approval-{record.id} a.edit"
                ).click()
            )
            box = await browser.until(
                lambda: browser.driver.find_elements(By.ID, "edit-value"), 10, "the edit form"
            )
            assert box[0].get_property("value") == "git push origin main"
            await browser.call(box[0].clear)
            await browser.call(box[0].send_keys, "git status")
            await browser.call(lambda: browser.driver.find_element(By.ID, "edit-approve").click())
            await wait_for(lambda: not record.pending, timeout=10)
            assert record.state == "approved"
            assert record.edited_data == {"command": "git status"}
            answer = await agent.recv()
            assert answer["updated_data"] == {"command": "git status"}

            await browser.get(f"{http_base(ctl)}/bot?name=webapp")
            text = await browser.find("#reply-text")
            await browser.call(text.send_keys, "first line\nsecond line")
            await browser.call(lambda: browser.driver.find_element(By.ID, "reply").click())
            done = await browser.until(
                lambda: browser.driver.find_elements(By.ID, "done"), 10, "the reply's answer"
            )
            assert "kept until it next waits" in done[0].text
            assert "second line" not in browser.driver.page_source
        replies = site.services.replies
        assert replies.kept("webapp")
        hook = Caller(pid=os.getpid(), uid=os.getuid())  # the session's hook takes it
        taken = await replies.await_reply(hook, "webapp", os.getpid(), 1.0)
        assert taken == "first line\nsecond line"
    finally:
        await agent.close()
