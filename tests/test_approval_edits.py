"""Approving with an edit, through every door: the CLI (``approve ID --edit JSON``) against a
real controller and a real agent process, Discord's *Edit and approve* modal on the loopback
fake, and the Claude Code hook, which hands the edit back as ``updatedInput``. The service's
rules (the policy judges the edit again; a deny leaves the request pending) and the diff an
approver sees are tested here too."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from chatops.cli.hook import updated_tool_input
from chatops.config.approvals import SocketDecisions
from chatops.records.approvals import ApprovalRecord
from chatops.services.approvals import diffs
from chatops.services.approvals.diffs import action_diff, clip_diff
from chatops.services.approvals.edits import RELAYED_PREFIX, merge_edit
from chatops.services.approvals.preview import MASK
from chatops.services.errors import Invalid, Refused
from cogs.approvals import prompt_embed
from tests.cogs.test_approvals import asked, asking, buttons, outcome
from tests.conftest import Running, make_settings, query, wait_for
from tests.fake_discord import APPROVER_USER_ID, MEMBER_USER_ID
from tests.test_approvals_cli import agent_asking, run_chatops
from tests.test_discord import assert_within_limits
from tests.test_hook import Machine, verdict

ME = os.geteuid()
"""The controller's own user, as the tests run it."""

__all__ = ["asking"]  # the Discord fixture, shared with tests/cogs/test_approvals.py

# -- the CLI, a real controller and a real agent --------------------------------------------------


async def test_an_edit_the_policy_denies_is_refused_and_the_request_stays_pending(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir)
    settings.approvals.socket_decisions = SocketDecisions.ANY  # this test's process decides
    async with agent_asking(workdir, settings, start_controller) as (ctl, _, request_id):
        config = workdir / "cli.yaml"
        edit = json.dumps({"command": "rm -rf /"})
        code, out, err = await run_chatops(
            config, "approvals", "approve", str(request_id), "--edit", edit
        )
        assert code == 1 and "edit refused: the policy denies it" in err, (out, err)
        assert f"request #{request_id} is still pending" in err
        record = ctl.services.approvals.records[request_id]
        assert record.pending and record.edited_data is None and record.approvers == []

        code, _, err = await run_chatops(
            config, "approvals", "approve", str(request_id), "--edit", "[1]"
        )
        assert code == 2 and "JSON object" in err
        assert record.pending


async def test_an_edit_reaches_the_waiting_agent_and_the_audit_keeps_both(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir)
    settings.approvals.socket_decisions = SocketDecisions.ANY
    async with agent_asking(workdir, settings, start_controller) as (ctl, agent, request_id):
        config = workdir / "cli.yaml"
        edit = json.dumps({"command": "git push origin feature"})
        code, out, err = await run_chatops(
            config, "approvals", "approve", str(request_id), "--edit", edit,
            "--comment", "not on main",
        )  # fmt: skip
        assert code == 0 and f"request #{request_id}: approved with an edit by cli" in out, err
        answer = await agent.line()
        assert answer["decision"] == "approve" and answer["approved"]
        assert answer["updated_data"] == {"command": "git push origin feature"}
        assert answer["comment"] == "not on main"

        code, out, _ = await run_chatops(config, "approvals", "list", "--all")
        assert code == 0 and "approved with edit by cli" in out and "not on main" in out, out
        await ctl.store.flush()
        [(data, edited, by, comment)] = query(
            settings.monitoring.database_path,
            "SELECT data_json, edited_data_json, edited_by, edit_comment FROM approvals",
        )
        assert json.loads(data) == {"command": "git push origin main"}
        assert json.loads(edited) == {"command": "git push origin feature"}
        assert by.startswith("cli (uid") and comment == "not on main"


async def test_the_client_sees_no_updated_data_without_an_edit(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir)
    async with agent_asking(workdir, settings, start_controller) as (ctl, agent, request_id):
        ctl.services.approvals.decide(request_id, True, by="alice", identity="a", via="web")
        answer = await agent.line()
        assert answer["approved"] and answer["updated_data"] is None


# -- the service's rules -------------------------------------------------------------------------


async def test_what_an_edit_may_not_do(workdir: Path, start_controller: Any) -> None:
    settings = make_settings(workdir)
    async with agent_asking(workdir, settings, start_controller) as (ctl, agent, request_id):
        editing = ctl.services.approvals.editing
        record = ctl.services.approvals.records[request_id]

        async def edit(changes: dict[str, Any]) -> ApprovalRecord:
            return await editing.approve_edited(
                request_id, changes, by="alice", identity="a", via="web"
            )

        with pytest.raises(Invalid, match="masked secret"):
            await edit({"command": f"git push https://x:{MASK}@host/r main"})
        with pytest.raises(Invalid, match="changes nothing"):
            await edit({"command": "git push origin main"})
        with pytest.raises(Invalid, match="cwd"):
            await edit({"cwd": "/"})
        with pytest.raises(Invalid, match="empty"):
            await edit({})
        record.approvals_required = 2
        with pytest.raises(Refused, match="needs 2 approvers"):
            await edit({"command": "git push origin feature"})
        record.approvals_required = 1
        assert record.pending and record.approvers == [] and record.edited_data is None
        # The service call the web dashboard makes: approved, the agent told.
        done = await edit({"command": "git status"})
        assert done.state == "approved" and done.edited_by == "alice"
        assert (await agent.line())["updated_data"] == {"command": "git status"}


def test_the_relayed_prefix_is_the_hubs_edge_key() -> None:
    from chatops.nats.hub import EDGE_KEY

    assert EDGE_KEY == RELAYED_PREFIX


def test_an_edit_keeps_an_edits_two_texts_together() -> None:
    data = {"file_path": "a.py", "old_string": "x", "new_string": "y", "content": "y"}
    assert merge_edit(data, {"new_string": "z"})["content"] == "z"
    assert merge_edit(data, {"content": "z"})["new_string"] == "z"
    sized = {"file_path": "a.py", "content": "abc", "file_size": 3}
    assert merge_edit(sized, {"content": "abcdef"})["file_size"] == 6


# -- the Claude Code hook ------------------------------------------------------------------------


async def test_the_hook_answers_the_edited_command_as_updated_input(
    machine: Machine, start_controller: Any
) -> None:
    ctl = await start_controller(make_settings(machine.home.parent))
    service = ctl.services.approvals
    tool_input = {"command": "git push origin main", "description": "push", "timeout": 60000}
    waiting = asyncio.create_task(machine.hook(machine.event("Bash", tool_input)))
    await wait_for(lambda: service.pending(), timeout=30)
    [record] = service.pending()
    await service.editing.approve_edited(
        record.id, {"command": "git push origin feature"}, by="alice", identity="1", via="web"
    )
    decision = await asyncio.wait_for(waiting, 30)
    assert verdict(decision) == "allow" and decision is not None
    assert decision["updatedInput"] == {**tool_input, "command": "git push origin feature"}
    assert "approved with an edit" in decision["permissionDecisionReason"]


def test_updated_tool_input_maps_an_edit_back_onto_each_tool() -> None:
    bash = {"command": "ls", "description": "list"}
    assert updated_tool_input("Bash", bash, {"command": "ls -a", "cwd": "/p"}) == {
        "command": "ls -a",
        "description": "list",
    }
    write = {"file_path": "/p/a.py", "content": "x"}
    assert updated_tool_input("Write", write, {"file_path": "/p/a.py", "content": "y"}) == {
        "file_path": "/p/a.py",
        "content": "y",
    }
    edit = {"file_path": "/p/a.py", "old_string": "a", "new_string": "b", "replace_all": True}
    data = {"file_path": "/p/a.py", "old_string": "a", "new_string": "c", "content": "c"}
    assert updated_tool_input("Edit", edit, data) == {**edit, "new_string": "c"}
    assert updated_tool_input("Edit", edit, {"file_path": "/p/a.py", "content": "d"}) == {
        **edit,
        "new_string": "d",
    }
    # The text it replaces, when the approver changed it: what the policy judged is what runs.
    changed_old = {**data, "old_string": "A"}
    assert updated_tool_input("Edit", edit, changed_old) == {
        **edit,
        "old_string": "A",
        "new_string": "c",
    }
    assert updated_tool_input("MultiEdit", {"edits": []}, {"content": "x"}) is None
    assert updated_tool_input("Bash", bash, {"content": "x"}) is None


# -- Discord -------------------------------------------------------------------------------------


async def test_a_stranger_cannot_submit_the_edit_modal(asking: tuple[Running, Any]) -> None:
    running, agent = asking
    service = running.bot.services.approvals
    prompt = await asked(running, agent)
    [record] = service.pending()
    edit_id = buttons(prompt)["edit"]["custom_id"]
    refused = await running.click(prompt, edit_id, user_id=MEMBER_USER_ID)
    assert refused["type"] == 4 and refused["data"]["flags"] == 64

    modal = await running.click(prompt, edit_id, user_id=APPROVER_USER_ID)
    assert modal["type"] == 9
    [box] = [c for c in _inputs(modal["data"]) if c["label"] == "Command"]
    assert box["value"] == "git push origin main" and box["max_length"] == 4000
    stranger = await running.fake.submit_modal(
        modal["data"], {"Command": "git status"}, message=prompt, user_id=MEMBER_USER_ID
    )
    answer = await running.fake.wait_callback(stranger)
    assert answer["type"] == 4 and answer["data"]["flags"] == 64
    assert "approvers" in answer["data"]["content"]
    assert record.pending and record.edited_data is None

    denied = await running.fake.submit_modal(
        modal["data"], {"Command": "rm -rf /"}, message=prompt, user_id=APPROVER_USER_ID
    )
    refusal = await running.fake.wait_callback(denied)
    assert refusal["data"]["flags"] == 64 and "policy denies" in refusal["data"]["content"]
    assert record.pending

    # A submitted modal is closed, as in Discord's client: the approver opens it again.
    modal = await running.click(prompt, edit_id, user_id=APPROVER_USER_ID)
    submitted = await running.fake.submit_modal(
        modal["data"],
        {"Command": "git push origin feature", "Comment (sent back to the agent)": "a branch"},
        message=prompt,
        user_id=APPROVER_USER_ID,
    )
    edited = await running.fake.wait_callback(submitted)
    reply = await agent.answer()
    assert reply["updated_data"] == {"command": "git push origin feature"}
    assert reply["comment"] == "a branch"
    assert edited["type"] == 7 and "Approved with edit by" in outcome(edited["data"])
    [embed] = edited["data"]["embeds"]
    approved_as = next(f["value"] for f in embed["fields"] if f["name"] == "Approved as")
    assert "git push origin feature" in approved_as and "a branch" in approved_as


def _inputs(modal: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for row in modal["components"]:
        for component in row.get("components") or [row.get("component")]:
            if component and component.get("type") == 4:
                found.append({**component, "label": component.get("label") or row.get("label")})
    return found


def test_a_long_diff_fits_the_prompt_with_a_marker() -> None:
    diff = action_diff(
        {
            "file_path": "a.py",
            "old_string": "".join(f"line {i}\n" for i in range(900)),
            "new_string": "".join(f"line {i} changed\n" for i in range(900)),
        },
        None,
    )
    record = ApprovalRecord(
        id=1,
        agent="coder",
        action_type="file_write",
        summary="a.py",
        policy="confirm",
        rule="file_write",
        reason="r" * 900,
        state="pending",
        requested_at=0,
        preview="p" * 900,
        diff=diff,
        expires_at=60,
    )
    embed = prompt_embed(record).to_dict()
    assert_within_limits(dict(embed))
    field = next(f["value"] for f in embed["fields"] if f["name"] == "Diff")
    assert field.startswith("```diff\n") and "more lines" in field and len(field) <= 1024


# -- the diff ------------------------------------------------------------------------------------


def test_the_diff_of_an_edits_two_texts_is_masked() -> None:
    diff = action_diff(
        {"file_path": "app.py", "old_string": "x = 1\n", "new_string": "x = 2\ntoken = 'abcdef'\n"},
        None,
    )
    assert diff.startswith("--- a/app.py\n+++ b/app.py\n")
    assert "-x = 1\n" in diff and "+x = 2\n" in diff
    assert "abcdef" not in diff and MASK in diff


def test_a_write_over_a_file_in_the_workspace_is_diffed_against_it(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("a\nb\nc\n")
    data = {"file_path": "src/a.py", "content": "a\nB\nc\n"}
    diff = action_diff(data, tmp_path, reader_uid=ME)
    assert "-b\n+B\n" in diff
    # The workspace from the request's cwd when none is configured, as the policy takes it.
    project = tmp_path / "home" / "project"
    project.mkdir(parents=True)
    (project / "x.txt").write_text("old\n")
    absolute = {"file_path": str(project / "x.txt"), "content": "new\n", "cwd": str(project)}
    assert "-old\n+new\n" in action_diff(absolute, None, reader_uid=ME)
    assert (
        action_diff({"file_path": "new.py", "content": "x"}, tmp_path, reader_uid=ME) == ""
    )  # a new file
    partial = {"file_path": "src/a.py", "content": "a\n", "file_size": 10_000}
    assert action_diff(partial, tmp_path, reader_uid=ME) == ""  # only its start was sent


def test_a_file_the_asking_agents_user_could_not_read_is_not_diffed(tmp_path: Path) -> None:
    """The controller reads as its own user: an agent of another user (through socket_group)
    gets no diff of a file that user does not own, nor one of an unknown user."""
    (tmp_path / "secrets.yaml").write_text("token: 1\n")
    data = {"file_path": "secrets.yaml", "content": "x\n"}
    assert "-token: 1" in action_diff(data, tmp_path, reader_uid=ME)
    stranger = 54321 if ME != 54321 else 54322
    assert action_diff(data, tmp_path, reader_uid=stranger) == ""
    assert action_diff(data, tmp_path) == ""  # nobody the kernel vouched for


def test_a_path_out_of_the_workspace_through_a_symlink_is_never_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace, outside = tmp_path / "ws", tmp_path / "outside"
    workspace.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("the secret\n")
    (workspace / "link").symlink_to(outside)
    (workspace / "file-link").symlink_to(outside / "secret.txt")
    opened: list[Any] = []
    real_open = os.open
    monkeypatch.setattr(diffs.os, "open", lambda *a, **k: opened.append(a) or real_open(*a, **k))
    for path in (
        "link/secret.txt",
        "file-link",
        "../outside/secret.txt",
        str(outside / "secret.txt"),
    ):
        assert action_diff({"file_path": path, "content": "x\n"}, workspace, reader_uid=ME) == ""
    assert opened == []


def test_clip_diff_says_how_many_lines_it_left_out() -> None:
    diff = "".join(f"+line {i}\n" for i in range(100))
    clipped = clip_diff(diff, 200)
    assert len(clipped) <= 200 and clipped.endswith(" more lines\n")
    kept = clipped.count("+line")
    assert f"… {100 - kept} more lines" in clipped
    assert clip_diff("short\n", 200) == "short\n"


@pytest.fixture
def machine(workdir: Path) -> Machine:
    return Machine(workdir, make_settings(workdir))


def test_an_edit_lost_to_a_restart_is_never_acted_on() -> None:
    """After a restart only the masked copy of an edit is stored: the agent asking again is
    told no, not handed a command holding the mask."""
    from chatops.api.approvals import answer

    record = ApprovalRecord(
        id=7,
        key="k",
        agent="coder",
        action_type="terminal_command",
        summary="git push",
        preview="",
        policy="confirm",
        rule="terminal_command",
        reason="needs a human",
        state="approved",
        requested_at=1.0,
        expires_at=2.0,
    )
    record.edited_data = {"command": f"git push https://x:{MASK}@host/r"}
    reply = answer(record)
    assert reply["decision"] == "deny" and reply["updated_data"] is None
    assert "restart lost" in reply["reason"]
    record.updated_data = {"command": "git push https://x:s3cret@host/r"}
    assert answer(record)["decision"] == "approve"
    assert answer(record)["updated_data"] == record.updated_data
