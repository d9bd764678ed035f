"""Coding-agent sessions on the dashboard: the fleet page's sessions table and a session's bot
page show what each is doing, and what a session's hooks sent is text, never markup."""

from __future__ import annotations

import re

from chatops.records.web import Role
from tests.test_session_views import HOME, HOSTILE_CWD, start_session
from tests.web.conftest import Site


def cells(html: str, row_attribute: str) -> list[str]:
    """The cells of the table row ``<tr row_attribute>``, tags stripped."""
    match = re.search(rf"<tr {re.escape(row_attribute)}>(.*?)</tr>", html, re.S)
    assert match, f"no row {row_attribute!r}"
    return [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", match.group(1), re.S)
    ]


async def test_sessions_on_the_fleet_page_and_their_bot_pages(site: Site) -> None:
    start_session(site.services, "webapp", cwd=f"{HOME}/src/webapp", waiting=True)
    start_session(site.services, "evil", cwd=HOSTILE_CWD, model="<img src=x onerror=alert(1)>")
    viewer = await site.signed_in(Role.VIEWER)

    fleet = await viewer.get("/")
    assert fleet.status == 200 and "<h2>Coding sessions</h2>" in fleet.text
    assert cells(fleet.text, 'data-session="webapp"') == [
        "webapp",
        "claude-code",
        "waiting",
        "claude-opus-4-5",
        "Bash",
        "$1.23",
        "45%",
        "~/src/webapp",
    ]
    evil = cells(fleet.text, 'data-session="evil"')
    assert evil[3] == "&lt;img src=x onerror=alert(1)&gt;"
    assert evil[7] == "/tmp/&lt;script&gt;alert(1)&lt;/script&gt;/\\x1b[31mred"
    for page in (fleet.text, (await viewer.get("/?part=live")).text):
        assert "<script>alert" not in page and "<img src=x" not in page and "\x1b" not in page

    bot = await viewer.get("/bot?name=webapp")
    assert bot.status == 200 and "<h2>Coding session</h2>" in bot.text
    facts = re.search(r'<table class="facts" id="session">(.*?)</table>', bot.text, re.S)
    assert facts is not None
    rows = dict(
        (th, re.sub(r"<[^>]+>", "", td).strip())
        for th, td in re.findall(r"<tr><th>(.*?)</th><td>(.*?)</td></tr>", facts.group(1), re.S)
    )
    assert rows == {
        "Kind": "claude-code",
        "Status": "waiting",
        "Model": "claude-opus-4-5",
        "Last tool": "Bash",
        "Cost so far": "$1.23",
        "Context": "45%",
        "Directory": "~/src/webapp",
    }
    evil_page = await viewer.get("/bot?name=evil&part=live")
    assert "/tmp/&lt;script&gt;alert(1)&lt;/script&gt;/\\x1b[31mred" in evil_page.text
    assert "<script>alert" not in evil_page.text and "\x1b" not in evil_page.text

    # A bot that is no session has no session facts.
    plain = await viewer.get("/?status=down")
    assert "Coding sessions" not in plain.text
