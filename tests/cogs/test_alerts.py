"""The silences' slash commands where they meet ``chatops silence|unsilence`` (the service's rule
for ending one, the sentence both print; the rest is in ``tests/test_discord.py`` and
``tests/cogs/test_ui.py``)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Running


def silence_id(value: int) -> list[dict[str, Any]]:
    return [{"type": 4, "name": "silence_id", "value": value}]


async def test_unsilence_ends_an_active_silence_and_the_service_refuses_any_other(
    running: Running,
) -> None:
    silences = running.bot.services.silences
    held = silences.add("el_serda", 3600, kind="down", created_by="alice", reason="upgrade")
    _, listing = await running.slash("silences")
    until = int(held.until)
    assert listing["data"]["embeds"][0]["description"] == (
        f"#{held.id} **el\\_serda** (down alerts only) until <t:{until}:f> (<t:{until}:R>) "
        "by alice — upgrade"
    )

    _, ended = await running.slash("unsilence", silence_id(held.id))
    assert ended["data"]["content"] == f"🔔 Silence #{held.id} ended."
    assert silences.active() == []
    _, again = await running.slash("unsilence", silence_id(held.id))
    assert again["data"]["flags"] == 64
    assert again["data"]["content"] == f"No active silence \\#{held.id}"  # the service's words
