"""An approval request is announced to the webhooks only: a webhook receiver gets the
``approval_requested`` body it always got, and the Discord alert channel's sink is never handed
it (the approvals cog posts its own prompt there), while that sink still gets every other
alert. Cogs put their buttons under the channel's alerts by registering, side by side."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import discord
import pytest

from chatops.alerts.approvals import ApprovalAlerts
from chatops.alerts.delivery import AlertDelivery
from chatops.alerts.restarts import RestartAlerts
from chatops.alerts.router import AlertRouter
from chatops.alerts.silences import SilenceService
from chatops.alerts.sinks import ALERT_ID_HEADER, WebhookSink, webhook_sink_name
from chatops.config import AlertsConfig
from chatops.discord.sink import DiscordChannelSink
from chatops.records.alerts import Alert, Severity
from chatops.records.approvals import ApprovalRecord
from chatops.runtime.bus import EventBus
from chatops.services.approvals.events import ApprovalRequested
from chatops.services.recovery.events import RestartFatal
from chatops.store import Store
from tests.conftest import FakeClock, query, wait_for
from tests.webhook_receiver import WebhookReceiver


class StubChannel:
    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []

    async def send(self, **message: Any) -> None:
        self.posts.append(message)


class StubClient:
    """What the channel sink asks of discord.py: logged in, and the channel to post in."""

    def __init__(self) -> None:
        self.channel = StubChannel()

    def is_ready(self) -> bool:
        return True

    def get_partial_messageable(self, channel_id: int) -> StubChannel:
        return self.channel


class ChannelSpy(DiscordChannelSink):
    """The real channel sink, keeping every alert it is handed."""

    def __init__(self) -> None:
        self.client = StubClient()
        super().__init__(self.client, 1, None)  # type: ignore[arg-type]
        self.handed: list[Alert] = []

    async def send(self, alerts: Sequence[Alert], group_id: str) -> None:
        self.handed.extend(alerts)
        await super().send(alerts, group_id)


class Wired:
    def __init__(self, store: Store, clock: FakeClock, webhook_url: str) -> None:
        self.store, self.clock = store, clock
        self.http = aiohttp.ClientSession()
        config = AlertsConfig(group_wait=0)
        self.delivery = AlertDelivery(store, config, clock=clock)
        self.channel = ChannelSpy()
        self.delivery.add_sink(self.channel)
        self.delivery.add_sink(WebhookSink(webhook_url, lambda: self.http, 5.0))
        self.silences = SilenceService(store, clock=clock)
        self.router = AlertRouter(store, config, self.delivery, self.silences, clock=clock)
        self.bus = EventBus()
        ApprovalAlerts(self.router, self.bus)
        RestartAlerts(self.router, self.bus)

    async def start(self) -> Wired:
        await self.silences.start()
        await self.router.start()
        await self.delivery.start()
        return self

    async def settled(self) -> None:
        await self.store.flush()
        await wait_for(lambda: not self.delivery.pending, timeout=10)
        await self.delivery.settled()

    async def close(self) -> None:
        await self.delivery.close()
        await self.http.close()


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    started = await WebhookReceiver().start()
    yield started
    await started.stop()


@pytest.fixture
async def wired(store: Store, clock: FakeClock, receiver: WebhookReceiver) -> AsyncIterator[Wired]:
    harness = await Wired(store, clock, receiver.url).start()
    yield harness
    await harness.close()


def request(clock: FakeClock) -> ApprovalRecord:
    now = clock()
    return ApprovalRecord(
        id=7,
        agent="coder",
        action_type="terminal_command",
        summary="git push origin main",
        policy="confirm",
        rule="terminal_command",
        reason="pushes to a remote",
        state="pending",
        requested_at=now,
        expires_at=now + 300,
    )


async def test_an_approval_request_is_announced_to_the_webhooks_only(
    wired: Wired, receiver: WebhookReceiver, workdir: Path
) -> None:
    record = request(wired.clock)
    wired.bus.publish(ApprovalRequested(record))
    await wired.settled()

    [received] = receiver.received
    body = received.body
    assert body["kind"] == "approval_requested" and body["subject"] == "coder"
    assert body["severity"] == "warning" and body["incident_kind"] is None
    assert body["title"] == "🟠 ⏳ coder asks to run a terminal_command"
    assert body["detail"] == "#7: git push origin main\npushes to a remote (rule terminal_command)"
    assert body["request"] == 7 and body["action_type"] == "terminal_command"
    assert body["expires_at"] == record.expires_at
    assert received.headers[ALERT_ID_HEADER] == body["alert_id"]
    # Never handed to the channel's sink, nor even queued for it.
    assert wired.channel.handed == [] and wired.channel.client.channel.posts == []
    sinks = query(workdir / "store.db", "SELECT DISTINCT sink FROM alert_outbox")
    assert sinks == [(webhook_sink_name(receiver.url),)]

    # The channel's sink is there all the same: every other alert reaches it.
    wired.bus.publish(RestartFatal(wired.clock(), "crasher", "5 starts within 300s"))
    await wired.settled()
    assert [(a.subject, a.kind, a.severity) for a in wired.channel.handed] == [
        ("crasher", "restart", Severity.CRITICAL)
    ]
    assert len(wired.channel.client.channel.posts) == 1
    assert [r.body["kind"] for r in receiver.received] == ["approval_requested", "restart"]


async def test_cogs_register_their_buttons_side_by_side() -> None:
    client = StubClient()
    sink = DiscordChannelSink(client, 1, None)  # type: ignore[arg-type]

    def button(custom_id: str) -> Any:
        return lambda alerts: [discord.ui.Button[Any](label=custom_id, custom_id=custom_id)]

    silence = sink.add_buttons(button("chatops:silence:kissbot"))
    sink.add_buttons(button("chatops:other:kissbot"))
    sink.add_buttons(lambda alerts: [])  # nothing to add for this group
    alert = Alert("down", "kissbot", Severity.CRITICAL, "kissbot is down", "", 0.0)
    await sink.send([alert], "group-1")
    silence()
    await sink.send([alert], "group-2")
    custom_ids = [
        [item.custom_id for item in post["view"].children] for post in client.channel.posts
    ]
    assert custom_ids == [
        ["chatops:silence:kissbot", "chatops:other:kissbot"],
        ["chatops:other:kissbot"],
    ]
