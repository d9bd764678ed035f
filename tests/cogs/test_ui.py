"""The UI kit's ConfirmView, driven through a real command (``/maintenance``) on the real
discord.py bot against the loopback fake."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.conftest import Running, fake_discord, start_bot, wait_for
from tests.fake_discord import APP_ID, MEMBER_USER_ID, FakeDiscord

TWO_HOURS = [{"type": 3, "name": "duration", "value": "2h"}]


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for row in message.get("components", []) for c in row["components"]]


def edits_of(fake: FakeDiscord, interaction: dict[str, Any]) -> list[Any]:
    """What the bot wrote over its first answer to ``interaction`` (PATCH @original)."""
    path = f"/webhooks/{APP_ID}/{interaction['token']}/messages/@original"
    return [r.body for r in fake.requests if r.method == "PATCH" and r.path == path]


async def test_confirm_refuses_someone_else_then_acts_on_the_asker(running: Running) -> None:
    silences = running.bot.services.silences
    interaction, prompt = await running.slash("maintenance", TWO_HOURS)
    assert "Hold **every** alert" in prompt["data"]["content"]
    confirm, cancel = buttons(prompt["data"])
    assert confirm["label"] == "Hold every alert" and cancel["label"] == "Cancel"
    message = running.fake.response_messages[interaction["id"]]

    refused = await running.click(message, confirm["custom_id"], user_id=MEMBER_USER_ID)
    assert refused["data"]["flags"] == 64 and "belongs to whoever" in refused["data"]["content"]
    assert silences.active() == []

    pressed = await running.click(message, confirm["custom_id"])
    assert pressed["type"] == 7  # the prompt is updated in place: its buttons disabled
    assert {button["disabled"] for button in buttons(pressed["data"])} == {True}
    await wait_for(lambda: edits_of(running.fake, interaction))
    assert "Silenced" in edits_of(running.fake, interaction)[-1]["content"]
    [maintenance] = silences.active()
    assert maintenance.subject is None and maintenance.created_by == "user401"  # the asker


async def test_cancel_changes_nothing(running: Running) -> None:
    interaction, prompt = await running.slash("maintenance", TWO_HOURS)
    message = running.fake.response_messages[interaction["id"]]
    await running.click(message, buttons(prompt["data"])[1]["custom_id"])
    await wait_for(lambda: edits_of(running.fake, interaction))
    assert edits_of(running.fake, interaction)[-1]["content"] == "Cancelled."
    assert running.bot.services.silences.active() == []


async def test_confirm_disables_itself_on_timeout(workdir: Path) -> None:
    async with fake_discord(workdir) as (fake, settings):
        settings.discord.confirm_timeout = 0.3
        bot, task = await start_bot(settings, fake)
        try:
            running = Running(fake, bot, settings)
            interaction, _ = await running.slash("maintenance", TWO_HOURS)

            def disabled_edit() -> bool:
                return any(
                    body.get("components") and all(b["disabled"] for b in buttons(body))
                    for body in edits_of(fake, interaction)
                )

            await wait_for(disabled_edit, timeout=15)
            await wait_for(
                lambda: any(
                    body.get("content") == "No answer; nothing changed."
                    for body in edits_of(fake, interaction)
                )
            )
            assert bot.services.silences.active() == []
        finally:
            await bot.close()
            await asyncio.gather(task, return_exceptions=True)
