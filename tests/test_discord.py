"""The real discord.py bot, in process, against the loopback fake of Discord."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from chatops.config import Settings
from chatops.discord.bot import ChatOpsBot, configure_endpoints
from chatops.presentation.fleet_alerts import fleet_notice
from chatops.records.alerts import Severity
from tests.conftest import (
    Running,
    fake_discord,
    register,
    start_bot,
    wait_for,
    went_down,
)
from tests.fake_discord import (
    ADMIN_ROLE_ID,
    APP_ID,
    GUILD_ID,
    MEMBER_USER_ID,
    FakeDiscord,
)

EMBED_LIMITS = {"description": 4096, "total": 6000, "fields": 25}


def embed_size(embed: dict[str, Any]) -> int:
    size = len(embed.get("title", "")) + len(embed.get("description", ""))
    size += len(embed.get("footer", {}).get("text", ""))
    for f in embed.get("fields", []):
        size += len(f["name"]) + len(f["value"])
    return size


def assert_within_limits(embed: dict[str, Any]) -> None:
    assert len(embed.get("description", "")) <= EMBED_LIMITS["description"]
    assert len(embed.get("fields", [])) <= EMBED_LIMITS["fields"]
    assert embed_size(embed) <= EMBED_LIMITS["total"]


async def test_commands_are_synced_to_the_guild_once(running: Running, workdir: Path) -> None:
    puts = running.fake.find("PUT", f"/applications/{APP_ID}/guilds/{GUILD_ID}/commands")
    assert len(puts) == 1
    names = {c["name"] for c in puts[0].body}
    assert {"status", "features", "llm", "silence", "maintenance", "silences", "chatops"} <= names
    for command in puts[0].body:
        # Least privilege: nobody sees a command unless a guild admin opens it up.
        assert command["default_member_permissions"] not in (None, "0"), command["name"]
        assert command.get("contexts") in (None, [0]) or command.get("dm_permission") is False
    assert (workdir / "commands.sha256").read_text().strip() == running.bot.command_hash()
    # Unchanged tree: a new start does not sync again.
    assert await running.bot.sync_commands(force=False) is False
    assert len(running.fake.find("PUT", f"/applications/{APP_ID}/guilds/")) == 1


async def test_status_overview(running: Running) -> None:
    client = await register(running.settings, "el_serda", "kissbot")
    interaction = await running.fake.slash("status")
    body = await running.fake.wait_callback(interaction)
    assert body["type"] == 4
    [embed] = body["data"]["embeds"]
    assert "el\\_serda" in embed["description"] and "kissbot" in embed["description"]
    assert "🟢 online: **2**" in embed["description"]
    assert "<t:" in embed["description"] and "100 MB" in embed["description"]

    down_only = await running.fake.wait_callback(
        await running.fake.slash("status", [{"type": 3, "name": "status", "value": "down"}])
    )
    assert "No bots match" in down_only["data"]["embeds"][0]["description"]
    by_feature = await running.fake.wait_callback(
        await running.fake.slash("status", [{"type": 3, "name": "feature", "value": "llm"}])
    )
    assert "online: **2**" in by_feature["data"]["embeds"][0]["description"]
    await client.close()


async def test_status_with_1000_bots_pages_within_limits(running: Running) -> None:
    names = [f"bot-{i:04d}-with-a-longish-name" for i in range(1000)]
    client = await register(
        running.settings, *names, features={"llm": True, "translator": True, "vision": False}
    )
    interaction = await running.fake.slash("status")
    body = await running.fake.wait_callback(interaction)
    [embed] = body["data"]["embeds"]
    assert_within_limits(embed)
    pages = int(embed["footer"]["text"].split("/")[1].split(" ")[0])
    assert pages > 1
    seen = set()
    message = running.fake.response_messages[interaction["id"]]
    buttons = body["data"]["components"][0]["components"]
    next_id = buttons[1]["custom_id"]
    seen.update(line for line in embed["description"].splitlines() if "bot\\-" in line)
    for page in range(2, pages + 1):
        # Someone else may not turn the pages.
        if page == 2:
            other = await running.fake.click(message, next_id, user_id=MEMBER_USER_ID)
            refusal = await running.fake.wait_callback(other)
            assert refusal["type"] == 4 and refusal["data"]["flags"] == 64
        click = await running.fake.click(message, next_id)
        update = await running.fake.wait_callback(click)
        assert update["type"] == 7
        [embed] = update["data"]["embeds"]
        assert_within_limits(embed)
        assert embed["footer"]["text"].startswith(f"Page {page}/{pages}")
        seen.update(line for line in embed["description"].splitlines() if "bot\\-" in line)
    assert len(seen) == 1000
    await client.close()


def silence_options(bot: str, duration: str) -> list[dict[str, Any]]:
    return [
        {"type": 3, "name": "bot", "value": bot},
        {"type": 3, "name": "duration", "value": duration},
    ]


async def test_silence_of_a_bot_nobody_registered_is_refused(running: Running) -> None:
    silences = running.bot.controller.services.silences
    client = await register(running.settings, "el_serda")
    typo = await running.fake.wait_callback(
        await running.fake.slash("silence", silence_options("el_sreda", "1h"))
    )
    assert typo["data"]["flags"] == 64 and "No bot called" in typo["data"]["content"]
    assert silences.active() == []
    await client.close()


async def test_non_admin_is_refused_a_state_changing_command(running: Running) -> None:
    silences = running.bot.controller.services.silences
    assert silences is not None
    client = await register(running.settings, "el_serda")
    refused = await running.fake.slash(
        "silence", silence_options("el_serda", "1h"), user_id=MEMBER_USER_ID
    )
    body = await running.fake.wait_callback(refused)
    assert body["data"]["flags"] == 64 and "admin" in body["data"]["content"]
    assert silences.active() == []
    await client.close()


async def test_a_member_with_the_admin_role_may_silence(running: Running) -> None:
    silences = running.bot.controller.services.silences
    client = await register(running.settings, "el_serda")
    by_role = await running.fake.slash(
        "silence", silence_options("el_serda", "2h"), user_id=MEMBER_USER_ID, roles=[ADMIN_ROLE_ID]
    )
    body = await running.fake.wait_callback(by_role)
    assert "Silenced" in body["data"]["content"]
    [silence] = silences.active()
    assert silence.subject == "el_serda"
    assert silence.until - silence.created_at == pytest.approx(2 * 3600)
    await client.close()


async def test_maintenance_with_an_invalid_duration_is_refused(running: Running) -> None:
    silences = running.bot.controller.services.silences
    bad = await running.fake.slash(
        "maintenance", [{"type": 3, "name": "duration", "value": "soonish"}]
    )
    body = await running.fake.wait_callback(bad)
    assert body["data"]["flags"] == 64 and "Invalid duration" in body["data"]["content"]
    too_long = await running.fake.slash(
        "maintenance", [{"type": 3, "name": "duration", "value": "31d"}]
    )
    body = await running.fake.wait_callback(too_long)  # refused before any confirmation
    assert body["data"]["flags"] == 64 and "at most 30 days" in body["data"]["content"]
    assert not body["data"].get("components")
    assert silences.active() == []


async def test_silences_lists_the_active_silences(running: Running) -> None:
    client = await register(running.settings, "el_serda")
    silenced = await running.fake.slash("silence", silence_options("el_serda", "2h"))
    assert "Silenced" in (await running.fake.wait_callback(silenced))["data"]["content"]
    listing = await running.fake.wait_callback(await running.fake.slash("silences"))
    assert "el\\_serda" in listing["data"]["embeds"][0]["description"]
    await client.close()


async def test_alert_reaches_the_channel_with_a_silence_button(running: Running) -> None:
    controller = running.bot.controller
    controller.services.bus.publish(went_down("el_serda", "connection lost"))
    await wait_for(lambda: running.fake.channel_messages(), timeout=10)
    [posted] = running.fake.channel_messages()
    [embed] = posted.body["embeds"]
    assert "el\\_serda is down" in embed["title"] and embed["color"] == 0xE74C3C
    button = posted.body["components"][0]["components"][0]
    assert button["custom_id"] == "chatops:silence:el_serda"

    # The persistent button works for an admin and refuses anyone else.
    message = running.fake.messages[list(running.fake.messages)[-1]]
    refused = await running.fake.wait_callback(
        await running.fake.click(message, button["custom_id"], user_id=MEMBER_USER_ID)
    )
    assert refused["data"]["flags"] == 64
    assert controller.services.silences is not None and controller.services.silences.active() == []
    ok = await running.fake.wait_callback(await running.fake.click(message, button["custom_id"]))
    assert "silenced" in ok["data"]["content"]
    assert [s.subject for s in controller.services.silences.active()] == ["el_serda"]


async def test_a_burst_under_discords_rate_limit_names_every_bot(running: Running) -> None:
    controller = running.bot.controller
    names = [f"host-reboot-{i:02d}" for i in range(45)]
    for name in names:
        controller.services.bus.publish(went_down(name, "connection lost without unregister"))

    def named() -> set[str]:
        text = " ".join(
            embed.get("title", "") + embed.get("description", "")
            for message in running.fake.channel_posts()
            for embed in message["embeds"]
        )
        return {name for name in names if name.replace("-", "\\-") in text}

    await wait_for(lambda: named() == set(names), timeout=30)
    posts = running.fake.channel_posts()
    # Grouped: a handful of messages within Discord's 5-per-5-s bucket, not 45.
    assert len(posts) <= 5 and running.fake.rate_limited == 0
    assert all(len(embed.get("description", "")) <= 4096 for p in posts for embed in p["embeds"])


async def test_a_bots_name_can_neither_format_nor_mention(running: Running) -> None:
    name = "@everyone **urgent** [click](https://evil.example) <@&42>"
    client = await register(running.settings, name)
    overview = await running.fake.wait_callback(await running.fake.slash("status"))
    running.bot.controller.services.bus.publish(went_down(name, "gone @here"))
    await wait_for(lambda: running.fake.channel_messages(), timeout=10)
    [alert] = running.fake.channel_messages()
    texts = [
        overview["data"]["embeds"][0]["description"],
        alert.body["embeds"][0]["title"],
        alert.body["embeds"][0]["description"],
    ]
    for text in texts:
        assert "@everyone" not in text and "@here" not in text and "<@&42>" not in text
        assert "**urgent**" not in text and "[click](" not in text
    assert "@\u200beveryone \\*\\*urgent\\*\\*" in texts[1]
    assert alert.body["allowed_mentions"] == {"parse": []}
    assert overview["data"]["allowed_mentions"] == {"parse": []}
    await client.close()


async def test_channel_resend_with_the_same_group_id_posts_once(running: Running) -> None:
    from chatops.discord.bot import DiscordChannelSink

    sink = next(
        s
        for s in running.bot.controller.services.delivery.sinks.values()  # type: ignore[union-attr]
        if isinstance(s, DiscordChannelSink)
    )
    alert = fleet_notice("down", "twice", "down", "x", 1.8e9, Severity.CRITICAL)
    await sink.send([alert], "group-1")
    await sink.send([alert], "group-1")  # the crash case: posted, outcome not committed
    await sink.send([alert], "group-2")
    posts = [p for p in running.fake.channel_posts() if "twice" in str(p["embeds"])]
    assert len(posts) == 2
    sent = running.fake.channel_messages()
    assert [m.body["nonce"] for m in sent] == ["group-1", "group-1", "group-2"]
    assert all(m.body["enforce_nonce"] is True for m in sent)


async def test_channel_alerts_wait_for_the_login_then_arrive_once(workdir: Path) -> None:
    async with fake_discord(workdir) as (fake, settings):
        await _alerts_wait_for_the_login(fake, settings)


async def _alerts_wait_for_the_login(fake: FakeDiscord, settings: Settings) -> None:
    configure_endpoints(settings.discord)
    bot = ChatOpsBot(settings)
    task = None
    try:
        await bot.controller.start()  # what run_bot does before its first login attempt
        bot.controller.services.bus.publish(went_down("early", "died before the login"))
        delivery = bot.controller.services.delivery
        assert delivery is not None
        await bot.controller.store.flush()  # type: ignore[union-attr]
        await delivery.settled()  # the channel's worker ran and found nobody logged in
        assert fake.channel_messages() == [] and len(delivery.pending) == 1
        assert delivery.pending[0].attempts == 0

        await bot.login("fake-token")
        task = asyncio.create_task(bot.connect(reconnect=False))
        await wait_for(lambda: fake.channel_messages(), timeout=30)
        await wait_for(lambda: not delivery.pending, timeout=10)
        [message] = fake.channel_messages()
        assert "early" in message.body["embeds"][0]["title"]
    finally:
        await bot.close()
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)


async def two_bots_with_usage(settings: Settings) -> tuple[Any, Any]:
    """el_serda (translator, ~200 MB, heartbeats, a call of the joke feature, a task done) and
    kissbot (no translator, 143 MB): their connections, to close after."""
    client = await register(
        settings, "el_serda", rss=200.0, features={"llm": True, "translator": True}
    )
    other = await register(settings, "kissbot", rss=143.0, features={"llm": True})
    for i in range(3):
        await client.request(
            {
                "id": 100 + i,
                "type": "heartbeat",
                "channel": "el_serda",
                "rss_mb": 200.0 + i,
                "cpu_pct": 2.0,
            }
        )
    await client.request(
        {
            "id": 200,
            "type": "llm_usage",
            "channel": "el_serda",
            "model": "deepseek-chat",
            "feature": "joke",
            "tokens_in": 150,
            "tokens_out": 80,
            "latency_ms": 1200,
            "estimated_cost": 0.25,
        }
    )
    await client.request({"id": 201, "type": "task_result", "agent": "el_serda", "success": True})
    return client, other


async def test_status_of_one_bot_shows_its_detail_and_a_chart(running: Running) -> None:
    client, other = await two_bots_with_usage(running.settings)
    detail = await running.fake.slash("status", [{"type": 3, "name": "bot", "value": "el_serda"}])
    assert (await running.fake.wait_callback(detail))["type"] == 5  # deferred
    followup = await running.fake.wait_followup(detail)
    [embed] = followup["embeds"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["pid"] == str(os.getpid()) and "translator" in fields["features"]
    assert "✅ 1" in fields["agent el\\_serda"] and "100% success" in fields["agent el\\_serda"]
    assert "registered" in fields["recent events"]
    assert embed["image"]["url"] == "attachment://resources.png"
    assert followup["files"][0]["name"] == "resources.png" and followup["files"][0]["size"] > 1000
    await client.close()
    await other.close()


async def test_features_shows_what_a_feature_costs_in_memory(running: Running) -> None:
    client, other = await two_bots_with_usage(running.settings)
    features = await running.fake.wait_callback(await running.fake.slash("features"))
    description = features["data"]["embeds"][0]["description"]
    assert "**translator**" in description and "+58 MB" in description
    await client.close()
    await other.close()


async def test_llm_usage_grouped_by_feature(running: Running) -> None:
    client, other = await two_bots_with_usage(running.settings)
    usage = await running.fake.wait_callback(
        await running.fake.slash(
            "llm usage",
            [
                {"type": 4, "name": "days", "value": 7},
                {"type": 3, "name": "group_by", "value": "feature"},
            ],
        )
    )
    [usage_embed] = usage["data"]["embeds"]
    assert usage_embed["fields"][0]["name"] == "joke"
    assert "in 150" in usage_embed["fields"][0]["value"]
    assert "$0.2500" in usage_embed["fields"][0]["value"]
    await client.close()
    await other.close()


async def test_status_autocompletes_bot_names(running: Running) -> None:
    client, other = await two_bots_with_usage(running.settings)
    choices = await running.fake.wait_callback(
        await running.fake.slash(
            "status", [{"type": 3, "name": "bot", "value": "kiss", "focused": True}], kind=4
        )
    )
    assert choices["type"] == 8
    assert [c["value"] for c in choices["data"]["choices"]] == ["kissbot"]
    await client.close()
    await other.close()


async def test_unexpected_failure_gets_an_ephemeral_trace_id(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database on fire")

    running.bot.controller.services.reports.feature_impact = broken  # type: ignore[method-assign,union-attr]
    body = await running.fake.wait_callback(await running.fake.slash("features"))
    assert body["data"]["flags"] == 64
    content = body["data"]["content"]
    assert "trace id" in content
    trace = content.split("`")[1]
    assert any(trace in record.getMessage() for record in caplog.records)


async def test_restart_keeps_commands_and_persistent_buttons(workdir: Path) -> None:
    async with fake_discord(workdir) as (fake, settings):
        bot, task = await start_bot(settings, fake)
        bot.controller.services.bus.publish(went_down("el_serda", "gone"))
        await wait_for(lambda: fake.channel_messages(), timeout=10)
        alert_message = fake.messages[list(fake.messages)[-1]]
        await bot.close()
        await asyncio.gather(task, return_exceptions=True)
        fake.identified.clear()

        bot, task = await start_bot(settings, fake)
        try:
            # Same command tree: no second sync after the restart.
            assert len(fake.find("PUT", f"/applications/{APP_ID}/guilds/")) == 1
            # A button on an alert sent before the restart still works.
            custom_id = alert_message["components"][0]["components"][0]["custom_id"]
            answer = await fake.wait_callback(await fake.click(alert_message, custom_id))
            assert "silenced" in answer["data"]["content"]
            # The incident survived too: no duplicate "down" alert was sent, nor is one queued.
            delivery = bot.controller.services.delivery
            await delivery.settled()
            assert delivery.pending == [] and len(fake.channel_messages()) == 1
            # An admin can still force a sync on demand.
            forced = await fake.wait_callback(await fake.slash("chatops sync"))
            assert forced["type"] == 5
            await wait_for(lambda: len(fake.find("PUT", f"/applications/{APP_ID}/guilds/")) == 2)
            refused = await fake.wait_callback(
                await fake.slash("chatops sync", user_id=MEMBER_USER_ID)
            )
            assert refused["data"]["flags"] == 64
        finally:
            await bot.close()
            await asyncio.gather(task, return_exceptions=True)


def test_the_fake_refuses_a_message_over_discords_limits() -> None:
    """What Discord refuses, the fake refuses, so a test fails where the channel would."""
    from tests.discord_limits import message_refusal

    fits = {"content": "x" * 2000, "embeds": [{"title": "t" * 256, "description": "d" * 4096}]}
    assert message_refusal(fits) is None
    for body in (
        {"content": "x" * 2001},
        {"embeds": [{"description": "d" * 4097}]},
        {"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]},
        {"embeds": [{}] * 11},
        {"files": [{"size": 1}] * 11},
    ):
        refusal = message_refusal(body)
        assert refusal is not None and refusal[0] == 400 and refusal[1]["code"] == 50035
    too_big = message_refusal({"files": [{"size": 10 * 1024 * 1024 + 1}]})
    assert too_big is not None and too_big[0] == 413 and too_big[1]["code"] == 40005
