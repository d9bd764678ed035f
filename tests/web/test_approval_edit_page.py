"""*Edit and approve* on the dashboard: an approver replaces a pending request's command and the
service approves the edit (the policy judges it again: a deny leaves it pending); viewers and
forged posts are refused and change nothing; a request's whole diff is shown as text."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from chatops.config import Settings
from chatops.records.approvals import ApprovalRecord
from chatops.records.web import Role
from tests.conftest import RawClient, wait_for
from tests.web.conftest import Site


@pytest.fixture
async def agent(site: Site) -> AsyncIterator[RawClient]:
    client = await RawClient.connect(site.settings.monitoring.socket_path)
    try:
        yield client
    finally:
        await client.close()


async def ask(
    site: Site, agent: RawClient, action_type: str, data: dict[str, Any]
) -> ApprovalRecord:
    """An approval request from ``agent``, once it is pending (the dashboard holds it)."""
    await agent.send(
        {"id": "ask", "type": "approval_request", "agent": "coder", "action_type": action_type,
         "data": data}
    )  # fmt: skip
    [record] = await wait_for(site.services.approvals.pending)
    return record


def textarea(text: str, name: str) -> str:
    found = re.search(rf'<textarea[^>]*name="{name}"[^>]*>\n?(.*?)</textarea>', text, re.S)
    assert found, f"no textarea {name!r}"
    return html.unescape(found.group(1))


async def test_an_approver_edits_a_push_into_a_status(site: Site, agent: RawClient) -> None:
    record = await ask(site, agent, "terminal_command", {"command": "git push origin main"})
    approver = await site.signed_in(Role.APPROVER)

    listing = await approver.get("/approvals")
    assert f'href="/approvals/{record.id}/edit"' in listing.text
    form = await approver.get(f"/approvals/{record.id}/edit")
    assert form.status == 200 and textarea(form.text, "value") == "git push origin main"

    done = await approver.post(
        f"/approvals/{record.id}/edit", {"value": "git status", "comment": "not on main"}
    )
    assert done.status == 303 and done.headers["Location"] == "/approvals", done.text
    record = site.services.approvals.records[record.id]
    assert record.state == "approved" and not record.pending
    assert record.edited_data == {"command": "git status"}
    assert record.updated_data == {"command": "git status"}
    assert record.edited_by == "alice" and record.edit_comment == "not on main"
    assert record.via == "web"
    answer = await agent.recv()
    assert answer["decision"] == "approve" and answer["updated_data"] == {"command": "git status"}


async def test_an_edit_the_policy_denies_is_refused_and_stays_pending(
    site: Site, agent: RawClient
) -> None:
    record = await ask(site, agent, "terminal_command", {"command": "git push origin main"})
    approver = await site.signed_in(Role.APPROVER)
    refused = await approver.post(f"/approvals/{record.id}/edit", {"value": "rm -rf /"})
    assert refused.status == 403
    assert "edit refused: the policy denies it" in html.unescape(refused.text)
    assert f"request #{record.id} is still pending" in html.unescape(refused.text)
    assert textarea(refused.text, "value") == "rm -rf /"  # kept, to be fixed
    assert record.pending and record.edited_data is None and record.approvers == []


async def test_viewers_and_forged_posts_change_nothing(site: Site, agent: RawClient) -> None:
    record = await ask(site, agent, "terminal_command", {"command": "git push origin main"})
    viewer = await site.signed_in(Role.VIEWER, person="val")
    listing = await viewer.get("/approvals")
    assert listing.status == 200 and "Edit and approve" not in listing.text
    assert "<textarea" not in listing.text
    assert (await viewer.get(f"/approvals/{record.id}/edit")).status == 403

    forged = await viewer.post(f"/approvals/{record.id}/edit", {"value": "git status"})
    assert forged.status == 403 and "approver only" in forged.text
    approver = await site.signed_in(Role.APPROVER)
    no_csrf = await approver.post(
        f"/approvals/{record.id}/edit", {"value": "git status"}, csrf=False
    )
    assert no_csrf.status == 403
    wrong = await approver.post(
        f"/approvals/{record.id}/edit", {"value": "git status", "csrf": "0" * 64}, csrf=False
    )
    assert wrong.status == 403
    assert record.pending and record.edited_data is None and record.approvers == []


async def test_a_whole_diff_is_shown_as_text(
    web_settings: Settings, start_controller: Any, workdir: Path
) -> None:
    web_settings.approvals.auto_accept = False  # a file edit asks too
    site = Site(await start_controller(web_settings), web_settings)
    agent = await RawClient.connect(web_settings.monitoring.socket_path)
    try:
        old = "".join(f"line {i}\n" for i in range(200))
        new = old + "<script>alert(1)</script>\n"
        record = await ask(
            site, agent, "file_write",
            {"file_path": "app.html", "old_string": old, "new_string": new, "content": new,
             "cwd": str(workdir)},
        )  # fmt: skip
        assert "<script>alert(1)</script>" in record.diff
        approver = await site.signed_in(Role.APPROVER)
        for path in ("/approvals", "/approvals?part=live", f"/approvals/{record.id}/edit"):
            page = await approver.get(path)
            assert page.status == 200
            assert "<script>alert" not in page.text
            shown = re.search(r'<pre class="diff"[^>]*>(.*?)</pre>', page.text, re.S)
            assert shown, path
            assert html.unescape(shown.group(1)) == record.diff  # the whole of it
        assert textarea(page.text, "value") == new  # the edit page offers the new text
        # A browser posts a textarea's lines with CRLF: the agent gets the file's own newlines.
        fixed = old + "<p>fixed</p>\n"
        done = await approver.post(
            f"/approvals/{record.id}/edit", {"value": fixed.replace("\n", "\r\n")}
        )
        assert done.status == 303, done.text
        assert record.updated_data is not None
        assert record.updated_data["new_string"] == record.updated_data["content"] == fixed
    finally:
        await agent.close()
        await site.close()
