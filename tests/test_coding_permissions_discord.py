"""A Claude Code ``PermissionRequest`` answered where the operator is: the real hook, run by a
stand-in session process, waits on the controller while the real bot posts the prompt on the
loopback fake of Discord; a click approves, and *Edit and approve* hands the edited command back
as the event's ``updatedInput`` (an edit the policy denies leaves the request pending)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import yaml

from tests.cogs.test_approvals import _close, approval_settings, buttons, new_prompt, prompts
from tests.conftest import Running, fake_discord, kill_quietly, start_bot
from tests.fake_discord import APPROVER_USER_ID, MEMBER_USER_ID
from tests.test_approval_edits import _inputs
from tests.test_coding_sessions import Session, fixture

REQUEST = "claude_permission_request_bash.json"


def permission(answer: dict[str, Any]) -> dict[str, Any]:
    decision: dict[str, Any] = json.loads(answer["out"])["hookSpecificOutput"]
    assert decision["hookEventName"] == "PermissionRequest"
    return decision["decision"]  # type: ignore[no-any-return]


async def test_a_permission_request_is_approved_and_edited_from_discord(workdir: Path) -> None:
    async with fake_discord(workdir) as (fake, settings):
        settings = approval_settings(settings)
        bot, task = await start_bot(settings, fake)
        running = Running(fake, bot, settings)
        config = workdir / "hook.yaml"
        monitoring = {
            "socket_path": str(settings.monitoring.socket_path),
            "database_path": str(settings.monitoring.database_path),
        }
        config.write_text(yaml.safe_dump({"monitoring": monitoring}))
        project = workdir / "home" / "webapp"
        project.mkdir(parents=True)
        session = Session(config, project, workdir / "home")
        try:
            # Approve: the hook prints Claude Code's allow for this event.
            asking = asyncio.create_task(
                session.hook(REQUEST, tool_input={"command": "git push origin main"})
            )
            prompt = await new_prompt(fake, len(prompts(fake)) + 1)
            assert "webapp" in prompt["embeds"][0]["description"]
            ids = buttons(prompt)
            refused = await running.click(
                prompt, ids["approve"]["custom_id"], user_id=MEMBER_USER_ID
            )
            assert refused["data"]["flags"] == 64 and not asking.done()
            await running.click(prompt, ids["approve"]["custom_id"], user_id=APPROVER_USER_ID)
            assert permission(await asking) == {"behavior": "allow"}

            # Edit and approve: a denied edit changes nothing; a safe one is the updated input.
            original = {"command": "git push origin main", "description": "Push the branch"}
            asking = asyncio.create_task(session.hook(REQUEST, tool_input=original))
            prompt = await new_prompt(fake, len(prompts(fake)) + 1)
            edit_id = buttons(prompt)["edit"]["custom_id"]
            [record] = bot.services.approvals.pending()
            modal = await running.click(prompt, edit_id, user_id=APPROVER_USER_ID)
            [box] = [c["label"] for c in _inputs(modal["data"]) if c["label"] == "Command"]
            denied = await fake.submit_modal(
                modal["data"], {box: "rm -rf /"}, message=prompt, user_id=APPROVER_USER_ID
            )
            refusal = await fake.wait_callback(denied)
            assert "policy denies" in refusal["data"]["content"]
            assert record.pending and not asking.done()
            modal = await running.click(prompt, edit_id, user_id=APPROVER_USER_ID)
            await fake.submit_modal(
                modal["data"], {box: "git status"}, message=prompt, user_id=APPROVER_USER_ID
            )
            allowed = permission(await asking)
            assert allowed == {
                "behavior": "allow",
                "updatedInput": {"command": "git status", "description": "Push the branch"},
            }
            # The audit keeps what was asked and what was allowed.
            assert record.data["command"] == "git push origin main"
            assert record.edited_data is not None
            assert record.edited_data["command"] == "git status"
            assert fixture(REQUEST)["hook_event_name"] == "PermissionRequest"
        finally:
            kill_quietly(session.proc)  # type: ignore[arg-type]
            await _close(bot, task)
