"""Storms: when more alerts are due for the Discord channel at once than it can name one by one,
it gets one summary (counts by kind and host, every alert in an attached CSV), while webhooks
get every alert; nothing is doubled or dropped across a restart."""

from __future__ import annotations

import asyncio
import csv
import io
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from chatops.alerts.delivery import STORM_PACE, AlertDelivery
from chatops.alerts.render import GROUP_MAX
from chatops.alerts.storms import STORM_MAX, storm_csv, storm_message
from chatops.config import AlertsConfig, Settings
from chatops.discord.bot import ChatOpsBot
from chatops.presentation.fleet_alerts import fleet_notice
from chatops.records.alerts import Alert, Severity
from chatops.services.callers import Caller
from chatops.store import Store
from tests.conftest import (
    FakeClock,
    RecordingSink,
    discord_settings,
    fake_discord,
    start_bot,
    wait_for,
)
from tests.fake_discord import FakeDiscord
from tests.webhook_receiver import WebhookReceiver

HOSTS = {"host-a": 3000, "host-b": 1500, "host-c": 500}
"""5,000 bots on three hosts: a network split takes them all down at once."""


def bot_names(host: str) -> list[str]:
    return [f"{host}-bot-{i:04d}" for i in range(HOSTS[host])]


ALL_BOTS = sorted(name for host in HOSTS for name in bot_names(host))


class Fleet:
    """The bot, the fake Discord and the webhook receiver of one storm, on an injected clock."""

    def __init__(self, fake: FakeDiscord, receiver: WebhookReceiver, settings: Settings) -> None:
        self.fake = fake
        self.receiver = receiver
        self.settings = settings
        self.clock = FakeClock()
        self.bot: ChatOpsBot | None = None
        self._task: asyncio.Task[None] | None = None
        self.callers: dict[str, Caller] = {}

    async def start(self) -> ChatOpsBot:
        self.fake.identified.clear()
        self.bot, self._task = await start_bot(self.settings, self.fake, clock=self.clock)
        return self.bot

    async def stop(self) -> None:
        if self.bot is not None:
            await self.bot.close()
            await asyncio.gather(self._task, return_exceptions=True)  # type: ignore[arg-type]
            self.bot = None

    def register_all(self) -> None:
        """Every bot registered by its host's agent (one connection per host)."""
        assert self.bot is not None
        fleet = self.bot.controller.services.fleet
        for host in HOSTS:
            caller = self.callers[host] = Caller(pid=None, local=False)
            for i, name in enumerate(bot_names(host)):
                fleet.register(caller, name, 100_000 + i, {}, host=host)

    def split(self) -> None:
        """The network split: every host's connection is lost in the same instant."""
        assert self.bot is not None
        for caller in self.callers.values():
            self.bot.controller.services.fleet.connection_lost(caller)

    def webhook_alerts(self) -> list[tuple[str, dict[str, Any]]]:
        """Every alert a webhook was told of (a 2xx answer), with its post's group id."""
        return [
            (post["group_id"], alert)
            for post in self.receiver.delivered()
            for alert in post["alerts"]
        ]


@asynccontextmanager
async def storm_fleet(workdir: Path, **alerts: Any) -> AsyncIterator[Fleet]:
    receiver = await WebhookReceiver().start()
    try:
        async with fake_discord(workdir) as (fake, settings):
            settings = discord_settings(workdir, fake)
            settings.alerts = AlertsConfig(
                webhook_urls=[receiver.url],  # type: ignore[list-item]
                retry_initial=0.1,
                retry_max=0.5,
                **alerts,
            )
            fleet = Fleet(fake, receiver, settings)
            try:
                yield fleet
            finally:
                await fleet.stop()
    finally:
        await receiver.stop()


def summary_rows(fake: FakeDiscord, message: dict[str, Any]) -> list[dict[str, str]]:
    [attachment] = message["attachments"]
    assert attachment["filename"].endswith(".csv")
    return list(csv.DictReader(io.StringIO(fake.attachment(message).decode())))


async def test_5000_bots_down_at_once_are_one_summary_and_every_webhook_alert(
    workdir: Path,
) -> None:
    async with storm_fleet(workdir) as fleet:
        bot = await fleet.start()
        delivery = bot.controller.services.delivery
        fleet.register_all()
        fleet.split()
        await wait_for(lambda: fleet.fake.channel_posts(), timeout=60)
        await wait_for(lambda: len(fleet.webhook_alerts()) >= len(ALL_BOTS), timeout=120)
        await wait_for(lambda: not delivery.pending, timeout=60)
        await delivery.settled()

        # The channel: one summary, not 250 messages queued behind the rate limit.
        [summary] = fleet.fake.channel_posts()
        assert fleet.fake.refused == []
        [embed] = summary["embeds"]
        assert "Alert storm · 5,000 alerts · 5,000 problems" in embed["title"]
        text = embed["description"]
        assert "🔴 down 5,000" in text
        # By host, worst first (all critical here, so the biggest first), with a few names.
        lines = [line for line in text.splitlines() if "host\\-" in line and "**" in line]
        assert [line.split("**")[1] for line in lines] == ["host\\-a", "host\\-b", "host\\-c"]
        assert "3,000: down 3,000 — host\\-a\\-bot\\-0000, host\\-a\\-bot\\-0001" in lines[0]
        rows = summary_rows(fleet.fake, summary)
        assert sorted(row["subject"] for row in rows) == ALL_BOTS
        assert Counter(row["host"] for row in rows) == HOSTS
        assert {row["kind"] for row in rows} == {"down"}

        # Every webhook got every alert, each once, with its host.
        told = fleet.webhook_alerts()
        assert sorted(alert["bot"] for _, alert in told) == ALL_BOTS
        assert len({alert["alert_id"] for _, alert in told}) == len(ALL_BOTS)
        assert {alert["host"] for _, alert in told} == set(HOSTS)
        # The summary's rows are the webhooks' alerts: the same ids, delivered once each.
        assert {row["alert_id"] for row in rows} == {alert["alert_id"] for _, alert in told}

        # They all come back: the recoveries are a storm too, summarised the same way.
        for host in HOSTS:
            agent = Caller(pid=None, local=False)  # each host's agent, reconnected
            for i, name in enumerate(bot_names(host)):
                bot.controller.services.fleet.register(agent, name, 200_000 + i, {}, host=host)
        # Within 5 s of the first summary it waits for the rest of the storm (the clock's).
        key = ("alert_group", "discord:alert_channel")
        await wait_for(lambda: key in delivery.timers, timeout=60)
        assert len(fleet.fake.channel_posts()) == 1
        fleet.clock.advance(STORM_PACE)
        delivery.timers.run_due()
        await wait_for(lambda: len(fleet.fake.channel_posts()) == 2, timeout=60)
        await wait_for(lambda: len(fleet.webhook_alerts()) >= 2 * len(ALL_BOTS), timeout=120)
        back = fleet.fake.channel_posts()[1]
        assert "5,000 alerts · 0 problems, 5,000 other" in back["embeds"][0]["title"]
        assert "🟢 recovered 5,000" in back["embeds"][0]["description"]
        assert sorted(row["subject"] for row in summary_rows(fleet.fake, back)) == ALL_BOTS


async def test_a_restart_mid_storm_neither_doubles_nor_drops(workdir: Path) -> None:
    """The controller dies after Discord created the summary but before it heard so, while
    the webhook is backing off from a 503 with most of the storm still to send. After the
    restart the summary is resent with the same nonce (Discord returns the message it has) and
    the webhook gets the rest: every alert once, bar the one group the 503 made uncertain, which
    comes again as the same group (same ids, for the receiver to dedupe)."""
    async with storm_fleet(workdir) as fleet:
        fleet.receiver.script = [(204, {})] * 3 + [(503, {})]
        bot = await fleet.start()
        fleet.fake.stall = asyncio.Event()
        fleet.register_all()
        fleet.split()
        await wait_for(lambda: fleet.fake.channel_posts(), timeout=60)
        await wait_for(lambda: len(fleet.receiver.received) == 4, timeout=60)
        sent_before = len(fleet.webhook_alerts())
        assert 0 < sent_before < len(ALL_BOTS)
        await fleet.stop()  # mid-storm: the summary unconfirmed, the webhook held back
        fleet.fake.stall.set()
        fleet.fake.stall = None

        bot = await fleet.start()
        delivery = bot.controller.services.delivery
        await wait_for(lambda: len(fleet.webhook_alerts()) >= len(ALL_BOTS), timeout=120)
        await wait_for(lambda: not delivery.pending, timeout=60)
        await delivery.settled()

        [summary] = fleet.fake.channel_posts()  # posted once
        attempts = fleet.fake.channel_messages()
        assert len(attempts) == 2 and attempts[0].body["nonce"] == attempts[1].body["nonce"]
        assert sorted(row["subject"] for row in summary_rows(fleet.fake, summary)) == ALL_BOTS

        told = fleet.webhook_alerts()
        assert sorted({alert["bot"] for _, alert in told}) == ALL_BOTS  # none dropped
        by_id: dict[str, set[str]] = {}
        for group_id, alert in told:
            by_id.setdefault(alert["alert_id"], set()).add(group_id)
        assert len(by_id) == len(ALL_BOTS)  # no alert raised twice (the restart re-raised none)
        assert all(len(groups) == 1 for groups in by_id.values())  # a repeat is the same group
        assert len(told) == len(ALL_BOTS)  # and the 503's group was not delivered before


async def test_a_burst_below_the_threshold_is_named_one_by_one(workdir: Path) -> None:
    async with storm_fleet(workdir) as fleet:
        bot = await fleet.start()
        names = [f"reboot-{i:02d}" for i in range(60)]
        for name in names:
            bot.controller.services.alerts.notify(
                fleet_notice("down", name, "down", "gone", fleet.clock(), Severity.CRITICAL)
            )
        delivery = bot.controller.services.delivery
        await wait_for(lambda: not delivery.pending, timeout=60)
        await delivery.settled()
        posts = fleet.fake.channel_posts()
        assert len(posts) == 3 and all(post["attachments"] == [] for post in posts)
        text = " ".join(post["embeds"][0]["description"] for post in posts)
        assert all(name.replace("-", "\\-") in text for name in names)
        assert fleet.fake.refused == [] and fleet.fake.rate_limited == 0


# -- delivery: which groups a sink that takes storms is handed -----------------------------------


def down(name: str, host: str | None = None) -> Alert:
    return fleet_notice("down", name, "down", "gone", 1.8e9, Severity.CRITICAL, host)


class StormSink(RecordingSink):
    name = "storms"
    storms = True


async def run_burst(store: Store, count: int, **config: Any) -> dict[str, list[int]]:
    clock = FakeClock()
    delivery = AlertDelivery(store, AlertsConfig(**config), clock=clock)
    channel, webhook = StormSink(), RecordingSink()
    delivery.add_sink(channel)
    delivery.add_sink(webhook)
    await delivery.start()

    def drained() -> bool:
        """Done, or else the clock moved past a storm's pause if the channel is in one."""
        if ("alert_group", channel.name) in delivery.timers:
            clock.advance(STORM_PACE)
            delivery.timers.run_due()
        return not delivery.pending

    try:
        for i in range(count):
            delivery.enqueue(down(f"bot-{i:05d}"))
        await wait_for(drained, timeout=60)
        await delivery.settled()
    finally:
        await delivery.close()
    for sink in (channel, webhook):
        assert sorted(a.subject for a in sink.alerts) == [f"bot-{i:05d}" for i in range(count)]
    return {
        "channel": [len(alerts) for _, alerts in channel.groups],
        "webhook": [len(alerts) for _, alerts in webhook.groups],
    }


async def test_up_to_the_threshold_the_channel_gets_groups_then_one_storm(store: Store) -> None:
    assert await run_burst(store, 100) == {"channel": [20] * 5, "webhook": [20] * 5}
    assert await run_burst(store, 101) == {"channel": [101], "webhook": [20] * 5 + [1]}


async def test_a_storm_bigger_than_one_summary_takes_two(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("chatops.alerts.delivery.STORM_MAX", 150)
    sizes = await run_burst(store, 320, storm_threshold=40)
    assert sizes["channel"] == [150, 150, 20]  # what is left after two is not a storm


async def test_while_a_storm_lasts_the_channel_gets_a_message_every_few_seconds(
    store: Store,
) -> None:
    """A storm that builds over time (bots going stale one heartbeat after another): after a
    summary, the channel's next message waits until STORM_PACE after it began, gathering what
    arrives meanwhile; once that is over, an alert leaves at once again. Webhooks never wait."""
    clock = FakeClock()
    delivery = AlertDelivery(store, AlertsConfig(), clock=clock)
    channel, webhook = StormSink(), RecordingSink()
    delivery.add_sink(channel)
    delivery.add_sink(webhook)
    await delivery.start()

    async def burst(names: range) -> None:
        for i in names:
            delivery.enqueue(down(f"bot-{i:04d}"))
        await store.flush()

    def sizes() -> list[int]:
        return [len(alerts) for _, alerts in channel.groups]

    try:
        await burst(range(0, 150))
        await wait_for(lambda: sizes() == [150], timeout=30)
        for second in range(1, 5):  # the storm goes on: 150 more each second, then 10
            clock.advance(1)
            delivery.timers.run_due()
            await burst(range(150 * second, 150 * second + (150 if second < 4 else 10)))
        await wait_for(lambda: len(webhook.alerts) == 610, timeout=30)
        assert sizes() == [150]  # held: the channel's next message waits for the storm
        clock.advance(1)
        delivery.timers.run_due()
        await wait_for(lambda: sizes() == [150, 460], timeout=30)  # one summary of the rest

        await delivery.settled()
        clock.advance(STORM_PACE)  # quiet: the storm is over
        await burst(range(610, 611))
        await wait_for(lambda: sizes() == [150, 460, 1], timeout=30)  # at once, named
    finally:
        await delivery.close()


def test_the_thresholds_bounds_are_one_message_and_one_summary() -> None:
    """The config cannot import the alerts: its bounds are these constants, written out."""
    assert AlertsConfig(storm_threshold=GROUP_MAX).storm_threshold == GROUP_MAX
    assert AlertsConfig(storm_threshold=STORM_MAX).storm_threshold == STORM_MAX
    for outside in (GROUP_MAX - 1, STORM_MAX + 1):
        with pytest.raises(ValidationError):
            AlertsConfig(storm_threshold=outside)


# -- the summary ---------------------------------------------------------------------------------


def test_the_summary_counts_by_kind_and_host_worst_first() -> None:
    alerts = [
        *(down(f"a{i}", "big-host") for i in range(5)),
        *(
            fleet_notice("recovered", f"r{i}", "online", "", 1.8e9, Severity.RESOLVED, "big-host")
            for i in range(30)
        ),
        *(
            fleet_notice("stale", f"s{i}", "stale", "", 1.8e9, Severity.WARNING, "small")
            for i in range(2)
        ),
        Alert(
            kind="host_down",
            subject="rack-7",
            severity=Severity.CRITICAL,
            title="rack-7 is down",
            body="no agent for 60 s",
            ts=1.8e9,
            data={"host": "rack-7"},
        ),
        Alert(
            kind="quota_warning",
            subject="=HYPERLINK(1)",
            severity=Severity.WARNING,
            title="quota",
            body="",
            ts=1.8e9,
        ),
    ]
    body = storm_message(alerts, "g1", mention_role_id=42)
    [embed] = body["embeds"]
    assert body["content"] == "<@&42>" and body["allowed_mentions"] == {"roles": ["42"]}
    text = embed["description"]
    assert "🔴 down 5 · 🔴 host\\_down 1 · 🟠 stale 2 · 🟠 quota\\_warning 1 · 🟢 recovered 30" in (
        text
    )
    hosts = [line.split("**")[1] for line in text.splitlines()[6:]]
    # Hosts with critical alerts first (the bigger before the smaller), then with warnings.
    assert hosts == ["big\\-host", "rack\\-7", "small", "\\(no host\\)"]
    assert "35: down 5, recovered 30 — a0, a1, a2, …" in text
    rows = list(csv.DictReader(io.StringIO(storm_csv(alerts).decode())))
    assert [row["kind"] for row in rows[:6]] == ["down"] * 5 + ["host_down"]
    ranks = [Severity(row["severity"]).rank for row in rows]
    assert ranks == sorted(ranks) and rows[-1]["kind"] == "recovered"
    assert "'=HYPERLINK(1)" in [row["subject"] for row in rows]  # never a formula


def test_a_summary_of_thousands_of_hosts_fits_one_embed() -> None:
    alerts = [down(f"bot-{i}", f"host-{i:05d}-" + "x" * 80) for i in range(STORM_MAX)]
    [embed] = storm_message(alerts, "g" * 20)["embeds"]
    assert len(embed["description"]) <= 4096 and len(embed["title"]) <= 256
    assert embed["description"].endswith("more, in the attachment")
    size = len(embed["description"]) + len(embed["title"]) + len(embed["footer"]["text"])
    assert size <= 6000
    assert len(storm_csv(alerts)) < 10 * 1024 * 1024
