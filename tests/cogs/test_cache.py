"""``/cache`` against the loopback fake: the clean's plan is shown, Cancel changes nothing,
Confirm deletes exactly the planned entries (not one that arrived meanwhile), a non-admin is
refused; stats, list, preview and clear's second confirmation."""

from __future__ import annotations

import os

from chatops.services.cache.checks import CacheChecks
from tests.cogs.test_ui import buttons, edits_of
from tests.conftest import Running, wait_for
from tests.fake_discord import MEMBER_USER_ID

KB = 1024


async def entries(running: Running, *names: str) -> None:
    cache = running.bot.services.cache
    for name in names:
        await cache.create_cache_entry(name, "claude", {"out.txt": "line one\n" + "x" * 100 * KB})
        cache.finish_cache_entry(name)


def on_disk(running: Running) -> list[str]:
    root = running.bot.services.cache.root
    return sorted(p for p in os.listdir(root) if not p.startswith("."))


async def test_cache_clean_shows_the_plan_and_runs_exactly_it(running: Running) -> None:
    cache = running.bot.services.cache
    # Over the threshold on purpose, so the scheduled auto-clean is off: its first run (5 s
    # after start, whenever a loaded machine gets there) would take t0 and t1 before /cache
    # clean plans them.
    cache.config.auto_clean_enabled = False
    cache.config.auto_clean_threshold_mb = 0.15
    cache.config.auto_clean_keep_count = 1
    await entries(running, "t0", "t1", "t2")
    assert await CacheChecks(cache, running.bot.services.bus).check() is None
    assert on_disk(running) == ["t0", "t1", "t2"]  # the scheduled check, run now: nothing goes

    _, refused = await running.slash("cache clean", user_id=MEMBER_USER_ID)
    assert refused["data"]["flags"] == 64 and "admin" in refused["data"]["content"]

    interaction, prompt = await running.slash("cache clean")
    text = prompt["data"]["content"]
    assert "**2** entries" in text and "`t0`, `t1`" in text and "over the size threshold" in text
    confirm, cancel = buttons(prompt["data"])
    message = running.fake.response_messages[interaction["id"]]
    await running.click(message, cancel["custom_id"])
    await wait_for(lambda: edits_of(running.fake, interaction))
    assert "Cancelled" in edits_of(running.fake, interaction)[-1]["content"]
    assert on_disk(running) == ["t0", "t1", "t2"]

    interaction, prompt = await running.slash("cache clean")
    confirm, _ = buttons(prompt["data"])
    await entries(running, "late")  # arrives after the plan was shown
    await running.click(running.fake.response_messages[interaction["id"]], confirm["custom_id"])
    await wait_for(lambda: "Removed" in str(edits_of(running.fake, interaction)))
    assert "Removed 2 entries" in edits_of(running.fake, interaction)[-1]["content"]
    assert on_disk(running) == ["late", "t2"] and sorted(cache.entries) == ["late", "t2"]


async def test_cache_stats_list_preview_and_clear(running: Running) -> None:
    running.bot.services.cache.config.auto_clean_threshold_mb = 1
    await entries(running, "a1", "b2")
    _, stats = await running.slash("cache stats")
    [embed] = stats["data"]["embeds"]
    assert "▰▰▱▱▱▱▱▱▱▱ 20% of the 1 MB threshold" in embed["description"]
    assert "**2** entries" in embed["description"]
    assert "claude: 2" in embed["fields"][0]["value"]
    _, listed = await running.slash("cache list")
    assert "`a1`" in listed["data"]["embeds"][0]["description"]
    _, preview = await running.slash("cache preview", [{"type": 3, "name": "task", "value": "a1"}])
    fields = preview["data"]["embeds"][0]["fields"]
    assert any("out.txt" in f["name"] and "line one" in f["value"] for f in fields)

    interaction, first = await running.slash("cache clear")
    assert "Clear the cache" in first["data"]["content"]
    confirm, _ = buttons(first["data"])
    await running.click(running.fake.response_messages[interaction["id"]], confirm["custom_id"])
    second = await running.fake.wait_followup(interaction)
    assert "cannot be undone" in second["content"] and "200.0 kB" in second["content"]
    assert on_disk(running) == ["a1", "b2"]  # nothing yet: the second confirmation decides
