"""Replying to a coding-agent session from its page: an approver's words reach the replies
service (handed to a waiting hook, or kept for its next wait) and are never logged or shown
back; a viewer sees no form, and a viewer's or a forged post is refused."""

from __future__ import annotations

import asyncio
import logging
import os

import pytest

from chatops.records.web import Role
from chatops.services.callers import Caller
from tests.conftest import wait_for
from tests.test_session_views import start_session
from tests.web.conftest import Site

WORDS = "use the staging token s3cr3t-words and go on"


async def test_an_approvers_reply_reaches_the_waiting_hook(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    start_session(site.services, "webapp", waiting=True)
    replies = site.services.replies
    hook = Caller(pid=os.getpid(), uid=os.getuid())
    waiting = asyncio.create_task(replies.await_reply(hook, "webapp", os.getpid(), 30.0))
    await wait_for(lambda: replies.waiters("webapp") == 1)

    approver = await site.signed_in(Role.APPROVER)
    page = await approver.get("/bot?name=webapp")
    assert 'id="reply-form"' in page.text and 'maxlength="4000"' in page.text
    done = await approver.post(
        "/bot/reply", {"name": "webapp", "text": WORDS.replace(" and", "\r\nand")}
    )
    assert done.status == 200 and "it goes on with the reply" in done.text
    assert await asyncio.wait_for(waiting, 10) == WORDS.replace(" and", "\nand")
    assert "s3cr3t" not in done.text
    assert not any("s3cr3t" in record.getMessage() for record in caplog.records)
    assert any("via web" in record.getMessage() for record in caplog.records)


async def test_a_reply_nobody_waits_for_is_kept_and_bad_ones_refused(site: Site) -> None:
    start_session(site.services, "webapp")
    replies = site.services.replies
    approver = await site.signed_in(Role.APPROVER)
    done = await approver.post("/bot/reply", {"name": "webapp", "text": WORDS})
    assert done.status == 200 and "kept until it next waits" in done.text
    assert replies.kept("webapp") and WORDS not in done.text

    long = await approver.post("/bot/reply", {"name": "webapp", "text": "x" * 4001})
    assert long.status == 400 and "at most 4000" in long.text and "xxxx" not in long.text
    empty = await approver.post("/bot/reply", {"name": "webapp", "text": "  "})
    assert empty.status == 400
    nobody = await approver.post("/bot/reply", {"name": "nobody", "text": WORDS})
    assert nobody.status == 404


async def test_viewers_and_forged_replies_are_refused(site: Site) -> None:
    start_session(site.services, "webapp")
    replies = site.services.replies
    viewer = await site.signed_in(Role.VIEWER, person="val")
    page = await viewer.get("/bot?name=webapp")
    assert page.status == 200 and 'id="reply-form"' not in page.text
    forged = await viewer.post("/bot/reply", {"name": "webapp", "text": WORDS})
    assert forged.status == 403 and "approver only" in forged.text

    approver = await site.signed_in(Role.APPROVER)
    no_csrf = await approver.post("/bot/reply", {"name": "webapp", "text": WORDS}, csrf=False)
    assert no_csrf.status == 403
    assert not replies.kept("webapp")
    for refused in (forged, no_csrf):
        assert WORDS not in refused.text
