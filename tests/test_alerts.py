"""Alerts: the router's incident logic on a fake clock, and real delivery to a webhook."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from chatops.alerts.delivery import AlertDelivery
from chatops.alerts.fleet import FleetAlerts
from chatops.alerts.render import discord_message, is_discord_webhook, json_body
from chatops.alerts.router import AlertRouter
from chatops.alerts.silences import SilenceService
from chatops.config import AlertsConfig, MonitoringConfig, Settings
from chatops.presentation.fleet_alerts import fleet_notice
from chatops.records.alerts import Severity
from chatops.records.fleet import FleetEvent
from chatops.runtime.bus import EventBus
from chatops.store import Store
from tests.conftest import (
    FakeClock,
    RecordingSink,
    kill_quietly,
    new_controller,
    spawn_bot,
    wait_for,
    went_down,
)
from tests.webhook_receiver import WebhookReceiver


@pytest.fixture
async def harness(store: Store, clock: FakeClock) -> AsyncIterator[dict[str, Any]]:
    bus = EventBus()
    config = AlertsConfig(repeat_interval=3600, flapping_transitions=4, flapping_window=600)
    delivery = AlertDelivery(store, config, clock=clock)
    sink = RecordingSink()
    delivery.add_sink(sink)
    silences = SilenceService(store, clock=clock)
    await silences.start()
    router = AlertRouter(store, config, delivery, silences, clock=clock)
    await router.start()
    FleetAlerts(router, bus, config, clock=clock)
    await delivery.start()

    def transition(channel: str, old: str, new: str, detail: str = "") -> None:
        bus.publish(
            FleetEvent(
                ts=clock.now,
                channel=channel,
                kind="status_changed",
                old_status=old,
                new_status=new,
                detail=detail or new,
            )
        )

    async def settle() -> list[str]:
        await store.flush()
        await wait_for(lambda: not delivery.pending, timeout=10)
        return [a.kind for a in sink.alerts]

    yield {
        "clock": clock,
        "router": router,
        "silences": silences,
        "sink": sink,
        "transition": transition,
        "settle": settle,
        "store": store,
    }
    await delivery.close()


async def test_one_alert_per_incident_with_reminders_and_recovery(harness) -> None:
    h = harness
    h["transition"]("bot", "online", "late")
    h["transition"]("bot", "late", "stale")
    h["clock"].now += 30
    h["transition"]("bot", "stale", "down", "connection lost")
    assert await h["settle"]() == ["stale"]  # late is not alerted; down is the same one

    h["clock"].now += 3569  # the first alert went out 3599 s ago
    h["router"].tick()
    assert await h["settle"]() == ["stale"]
    h["clock"].now += 1
    h["router"].tick()
    assert await h["settle"]() == ["stale", "reminder"]
    reminder = h["sink"].alerts[-1]
    assert reminder.data["status"] == "down" and reminder.data["downtime_seconds"] == 3600

    h["clock"].now += 70
    h["transition"]("bot", "down", "online")
    kinds = await h["settle"]()
    assert kinds[-1] == "recovered"
    recovered = h["sink"].alerts[-1]
    assert recovered.data["downtime_seconds"] == 3670
    assert recovered.incident_id == reminder.incident_id
    assert h["router"].incidents == {}


async def test_flapping_alerts_once_then_stays_quiet_until_stable(harness) -> None:
    h = harness
    for _ in range(5):
        h["transition"]("flappy", "online", "down")
        h["clock"].now += 10
        h["transition"]("flappy", "down", "online")
        h["clock"].now += 10
    kinds = await h["settle"]()
    # down, recovered, down (3rd transition), then the 4th transition trips flapping.
    assert kinds.count("flapping") == 1
    assert kinds[-1] == "flapping"
    before = len(kinds)
    h["clock"].now += 589  # the last transition was 10 s before now
    h["router"].tick()
    assert len(await h["settle"]()) == before
    h["clock"].now += 1
    h["router"].tick()
    kinds = await h["settle"]()
    assert kinds[-1] == "stable" and len(kinds) == before + 1
    assert h["sink"].alerts[-1].data["status"] == "online"


async def test_flapping_counts_only_changes_between_up_and_down(harness) -> None:
    """Registering, a clean unregister and a missed heartbeat (``late``) are not flapping; going
    down (or stale) and coming back are."""
    h = harness
    for _ in range(3):
        h["transition"]("calm", "offline", "online", "registered")
        h["clock"].now += 10
        h["transition"]("calm", "online", "late")
        h["transition"]("calm", "late", "online", "heartbeat")
        h["clock"].now += 10
        h["transition"]("calm", "online", "offline", "unregistered")
    assert await h["settle"]() == []
    h["transition"]("calm", "offline", "online", "registered")
    h["transition"]("calm", "online", "late")
    h["transition"]("calm", "late", "stale")  # 1
    h["transition"]("calm", "stale", "online", "heartbeat")  # 2
    h["transition"]("calm", "online", "down")  # 3
    h["transition"]("calm", "down", "online", "registered")  # 4: flapping, and nothing else
    assert await h["settle"]() == ["stale", "recovered", "down", "flapping"]


async def test_silence_holds_alerts_and_expires_by_itself(harness) -> None:
    h = harness
    h["silences"].add("quiet", 300, created_by="op")
    h["transition"]("quiet", "online", "down")
    h["transition"]("other", "online", "down")
    assert await h["settle"]() == ["down"]
    assert h["sink"].alerts[0].subject == "other"
    h["clock"].now += 301
    h["router"].tick()  # silence over, incident still open: announced now
    assert await h["settle"]() == ["down", "down"]
    assert h["sink"].alerts[-1].subject == "quiet"
    assert h["silences"].active() == []


async def test_maintenance_silences_everything(harness) -> None:
    h = harness
    h["silences"].add(None, 600, reason="upgrade")
    h["transition"]("a", "online", "down")
    h["transition"]("a", "down", "online")
    assert await h["settle"]() == []  # opened and closed while silenced: nothing to say


def test_payloads() -> None:
    alert = replace(
        fleet_notice("down", "el_serda", "down", "connection lost", 1.8e9, Severity.CRITICAL),
        incident_id=3,
    )
    assert is_discord_webhook("https://discord.com/api/webhooks/1/abc")
    assert not is_discord_webhook("https://hooks.example.org/api/webhooks/1/abc")
    message = discord_message([alert], mention_role_id=42)
    [embed] = message["embeds"]
    assert embed["color"] == 0xE74C3C and "el\\_serda" in embed["title"]
    assert "<t:1800000000:R>" in embed["description"]
    assert message["content"] == "<@&42>" and message["allowed_mentions"] == {"roles": ["42"]}
    body = json_body([alert], "g1")
    assert body["bot"] == "el_serda" and body["kind"] == "down" and body["incident_id"] == 3
    assert body["subject"] == "el_serda" and body["severity"] == "critical"
    assert body["status"] == "down" and body["title"] == "🔴 el_serda is down"
    assert body["time"].startswith("2027-01-15T08:00:00")


# -- real delivery ----------------------------------------------------------------------------


def alert_settings(workdir: Path, url: str, **alerts: Any) -> Settings:
    return Settings(
        monitoring=MonitoringConfig(socket_path=workdir / "m.sock", database_path=workdir / "c.db"),
        alerts=AlertsConfig(
            **{"webhook_urls": [url], "retry_initial": 0.1, "retry_max": 0.5, **alerts}
        ),
    )


async def test_sigkilled_bot_alert_reaches_webhook_then_recovery(workdir: Path) -> None:
    receiver = await WebhookReceiver().start()
    settings = alert_settings(workdir, receiver.url)
    ctl = new_controller(settings)
    await ctl.start()
    bot = spawn_bot("simple_bot.py", str(settings.monitoring.socket_path), "victim", "30")
    try:
        import asyncio

        assert (await asyncio.to_thread(bot.stdout.readline)).strip() == b"READY"
        os.kill(bot.pid, signal.SIGKILL)
        await wait_for(lambda: receiver.delivered(), timeout=10)
        [alert] = receiver.delivered()
        assert alert["kind"] == "down" and alert["bot"] == "victim"
        assert alert["source"] == "chatops"
        bot2 = spawn_bot("simple_bot.py", str(settings.monitoring.socket_path), "victim", "30")
        try:
            assert (await asyncio.to_thread(bot2.stdout.readline)).strip() == b"READY"
            await wait_for(lambda: len(receiver.delivered()) == 2, timeout=10)
            recovered = receiver.delivered()[1]
            assert recovered["kind"] == "recovered" and recovered["downtime_seconds"] >= 0
        finally:
            kill_quietly(bot2)
    finally:
        kill_quietly(bot)
        await ctl.stop()
        await receiver.stop()


async def test_webhook_429_then_200_gets_the_alert_once(workdir: Path) -> None:
    receiver = await WebhookReceiver(script=[(429, {"Retry-After": "0.3"}), (200, {})]).start()
    settings = alert_settings(workdir, receiver.url)
    ctl = new_controller(settings)
    await ctl.start()
    try:
        assert ctl.services.fleet is not None
        ctl.services.bus.publish(went_down("b", "test"))
        await wait_for(lambda: receiver.delivered(), timeout=10)
        assert [r.status for r in receiver.received] == [429, 200]
        # It waited as told, not less.
        assert receiver.received[1].at - receiver.received[0].at >= 0.3
        assert len(receiver.delivered()) == 1
        assert ctl.services.delivery.pending == []
    finally:
        await ctl.stop()
        await receiver.stop()


async def test_pending_alert_is_delivered_once_after_restart(workdir: Path) -> None:
    receiver = await WebhookReceiver(script=[(503, {})] * 3).start()
    settings = alert_settings(workdir, receiver.url, retry_initial=60, retry_max=60)
    ctl = new_controller(settings)
    await ctl.start()
    ctl.services.bus.publish(went_down("b", "test"))
    await wait_for(lambda: receiver.received, timeout=10)
    assert receiver.delivered() == []
    await ctl.stop()  # the alert is still pending: it must survive this

    receiver.script.clear()
    settings = alert_settings(workdir, receiver.url, retry_initial=0.1, retry_max=0.2)
    ctl = new_controller(settings)
    await ctl.start()
    try:
        await wait_for(lambda: receiver.delivered(), timeout=10)
    finally:
        await ctl.stop()
    # A third start finds nothing pending: delivered exactly once.
    ctl = new_controller(settings)
    await ctl.start()
    try:
        assert ctl.services.delivery.pending == []
    finally:
        await ctl.stop()
    await receiver.stop()
    assert [a["bot"] for a in receiver.delivered()] == ["b"]
