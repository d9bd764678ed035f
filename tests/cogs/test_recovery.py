"""``/diagnostics``, ``/health``, ``/metrics`` and ``/recover restart`` of a real bot subprocess
against the loopback fake Discord; a non-admin is refused."""

from __future__ import annotations

import contextlib
import os
import signal

from tests.cogs.test_ui import buttons, edits_of
from tests.conftest import Running, kill_quietly, spawn_bot, wait_for
from tests.fake_discord import MEMBER_USER_ID
from tests.services.test_recovery import recovery_bot


async def test_diagnostics_and_health_in_discord(running: Running) -> None:
    interaction, deferred = await running.slash("diagnostics")
    assert deferred["type"] == 5
    followup = await running.fake.wait_followup(interaction)
    [embed] = followup["embeds"]
    lines = embed["description"].splitlines()
    assert any(line.startswith("✅ **socket** · ") and " ms · " in line for line in lines)
    assert any(line.startswith("✅ **database**") for line in lines)
    assert any(line.startswith("✅ **discord**") and "REST round trip" in line for line in lines)

    interaction, _ = await running.slash("health")
    [embed] = (await running.fake.wait_followup(interaction))["embeds"]
    assert embed["title"].startswith(("✅ Health: ok", "⚠️ Health: degraded"))

    interaction, _ = await running.slash("metrics")
    followup = await running.fake.wait_followup(interaction)
    [embed] = followup["embeds"]
    assert [f["name"] for f in embed["fields"]] == ["Host", "Controller"]
    assert f"pid {os.getpid()}" in embed["fields"][1]["value"]


async def test_recover_restart_of_a_real_bot(running: Running) -> None:
    settings = running.settings
    supervisor = spawn_bot("supervised.py", *recovery_bot(settings, "kissbot"))
    fleet = running.bot.services.fleet
    try:
        await wait_for(lambda: "kissbot" in fleet.bots and fleet.bots["kissbot"].status == "online")
        old = fleet.bots["kissbot"].pid
        bot_option = [{"type": 3, "name": "bot", "value": "kissbot"}]
        _, refused = await running.slash("recover restart", bot_option, user_id=MEMBER_USER_ID)
        assert refused["data"]["flags"] == 64 and fleet.bots["kissbot"].pid == old

        interaction, prompt = await running.slash("recover restart", bot_option)
        assert "Restart **kissbot**?" in prompt["data"]["content"]
        confirm, _ = buttons(prompt["data"])
        await running.click(running.fake.response_messages[interaction["id"]], confirm["custom_id"])
        await wait_for(
            lambda: "back as pid" in str(edits_of(running.fake, interaction)), timeout=40
        )
        final = edits_of(running.fake, interaction)[-1]["content"].replace("\\", "")
        # The same words as `chatops restart` (Markdown escaped): the outcome, how, and why.
        assert final.startswith("✅ **kissbot**: restarted (control): asked over its connection")
        new = fleet.bots["kissbot"].pid
        assert new != old and f"back as pid {new} (was {old})" in final
    finally:
        bot = fleet.bots.get("kissbot")
        if bot is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(bot.pid, signal.SIGKILL)
        kill_quietly(supervisor)


async def test_recover_restart_of_an_unknown_bot_is_refused_before_any_confirmation(
    running: Running,
) -> None:
    bot_option = [{"type": 3, "name": "bot", "value": "ghost"}]
    _, refused = await running.slash("recover restart", bot_option)
    assert refused["data"]["flags"] == 64 and "No bot called 'ghost'" in refused["data"]["content"]
    assert not buttons(refused["data"])  # nothing to confirm
