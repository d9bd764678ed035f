"""Incidents of any kind: keyed by (subject, kind), silenced by subject and optionally kind."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from chatops.alerts.delivery import AlertDelivery
from chatops.alerts.fleet import FleetAlerts
from chatops.alerts.router import AlertRouter
from chatops.alerts.silences import SilenceService
from chatops.config import AlertsConfig
from chatops.records.alerts import Severity
from chatops.runtime.bus import EventBus
from chatops.store import Store
from chatops.store.migrations import MIGRATIONS
from chatops.timeutil import to_sqlite
from tests.conftest import FakeClock, RecordingSink, came_back, wait_for, went_down


class Alerting:
    def __init__(self, store: Store, clock: FakeClock) -> None:
        self.store = store
        self.clock = clock
        self.bus = EventBus()
        self.config = AlertsConfig(repeat_interval=3600)
        self.delivery = AlertDelivery(store, self.config, clock=clock)
        self.sink = RecordingSink()
        self.delivery.add_sink(self.sink)
        self.silences = SilenceService(store, clock=clock)
        self.router = AlertRouter(store, self.config, self.delivery, self.silences, clock=clock)

    async def start(self) -> Alerting:
        await self.silences.start()
        await self.router.start()
        FleetAlerts(self.router, self.bus, self.config, clock=self.clock)
        await self.delivery.start()
        return self

    async def sent(self) -> list[tuple[str, str]]:
        await self.store.flush()
        await wait_for(lambda: not self.delivery.pending, timeout=10)
        return [(a.subject, a.kind) for a in self.sink.alerts]

    def over_quota(self, subject: str) -> None:
        self.router.problem(
            subject,
            "quota",
            state="critical",
            severity=Severity.CRITICAL,
            detail="9% left of claude-5h",
            ts=self.clock(),
        )


@pytest.fixture
async def alerting(store: Store, clock: FakeClock) -> AsyncIterator[Alerting]:
    harness = await Alerting(store, clock).start()
    yield harness
    await harness.delivery.close()


async def test_two_kinds_for_one_bot_are_two_incidents(alerting: Alerting) -> None:
    alerting.bus.publish(went_down("kissbot", ts=alerting.clock()))
    alerting.over_quota("kissbot")
    assert set(alerting.router.incidents) == {("kissbot", "down"), ("kissbot", "quota")}
    assert await alerting.sent() == [("kissbot", "down"), ("kissbot", "quota")]
    down, quota = alerting.sink.alerts
    assert down.incident_id != quota.incident_id
    assert quota.title == "kissbot: critical" and quota.incident_kind == "quota"

    # The bot comes back: its down incident resolves, the quota incident stays open.
    alerting.clock.advance(60)
    alerting.bus.publish(came_back("kissbot", ts=alerting.clock()))
    assert await alerting.sent() == [
        ("kissbot", "down"),
        ("kissbot", "quota"),
        ("kissbot", "recovered"),
    ]
    assert set(alerting.router.incidents) == {("kissbot", "quota")}
    # The quota incident keeps reminding on its own, then resolves on its own.
    alerting.clock.advance(3600)
    alerting.router.tick()
    assert (await alerting.sent())[-1] == ("kissbot", "reminder")
    assert alerting.sink.alerts[-1].incident_id == quota.incident_id
    assert alerting.router.resolve("kissbot", "quota", state="ok", ts=alerting.clock())
    assert (await alerting.sent())[-1] == ("kissbot", "quota_resolved")
    assert alerting.router.incidents == {}
    assert not alerting.router.resolve("kissbot", "quota", state="ok", ts=alerting.clock())


async def test_a_silence_on_one_kind_leaves_the_other_alerting(alerting: Alerting) -> None:
    alerting.silences.add("kissbot", 600, kind="quota", created_by="op")
    alerting.over_quota("kissbot")
    alerting.bus.publish(went_down("kissbot", ts=alerting.clock()))
    assert await alerting.sent() == [("kissbot", "down")]
    # The held-back quota incident is announced once its silence ends.
    alerting.clock.advance(601)
    alerting.router.tick()
    assert await alerting.sent() == [("kissbot", "down"), ("kissbot", "quota")]
    # A silence of the whole subject holds both kinds.
    alerting.silences.add("other", 600)
    alerting.over_quota("other")
    alerting.bus.publish(went_down("other", ts=alerting.clock()))
    assert [s for s, _ in await alerting.sent()].count("other") == 0
    with pytest.raises(ValueError, match="maintenance"):
        alerting.silences.add(None, 60, kind="quota")


async def test_incidents_and_silences_survive_a_restart(store: Store, clock: FakeClock) -> None:
    first = await Alerting(store, clock).start()
    first.over_quota("pool-a")
    first.silences.add("pool-a", 600, kind="quota")
    await store.flush()
    await first.delivery.close()
    again = await Alerting(store, clock).start()
    try:
        [incident] = again.router.incidents.values()
        assert incident.key == ("pool-a", "quota") and incident.state == "critical"
        assert again.silences.is_silenced("pool-a", "quota")
        assert not again.silences.is_silenced("pool-a", "down")
        again.over_quota("pool-b")
        assert again.router.incidents[("pool-b", "quota")].id == incident.id + 1
    finally:
        await again.delivery.close()


async def test_upgrade_keeps_open_incidents_silences_and_queued_alerts(workdir: Path) -> None:
    """A database of the previous release: its open stale incident becomes a down incident in
    state stale, its silence still holds, and an alert it had queued is still delivered."""
    db = workdir / "v4.db"
    conn = sqlite3.connect(db)
    for script in MIGRATIONS[:4]:
        conn.executescript(script)
    now = 1_800_000_000.0
    conn.execute(
        "INSERT INTO incidents (id, channel, kind, opened_at, last_notified_at, detail) "
        "VALUES (7, 'old-bot', 'stale', ?, ?, 'no heartbeat')",
        (to_sqlite(now - 60), to_sqlite(now - 60)),
    )
    conn.execute(
        "INSERT INTO silences (id, channel, until, created_at) VALUES (2, 'quiet', ?, ?)",
        (now + 600, to_sqlite(now)),
    )
    v1_alert: dict[str, Any] = {
        "kind": "down",
        "channel": "old-bot",
        "status": "down",
        "detail": "gone",
        "ts": now - 5,
        "incident_id": 7,
        "opened_at": now - 60,
        "downtime": None,
        "alert_id": "a" * 20,
    }
    conn.execute(
        "INSERT INTO alert_outbox (id, created_at, sink, payload_json, attempts, "
        "next_attempt_at) VALUES (1, ?, 'recording', ?, 0, 0)",
        (to_sqlite(now), json.dumps(v1_alert)),
    )
    conn.execute("PRAGMA user_version = 4")
    conn.commit()
    conn.close()

    store = await Store.open(db, max_delay=0)
    clock = FakeClock(now)
    alerting = await Alerting(store, clock).start()
    try:
        [incident] = alerting.router.incidents.values()
        assert incident.key == ("old-bot", "down") and incident.state == "stale"
        assert incident.severity == Severity.WARNING
        assert alerting.silences.is_silenced("quiet", "down")
        await wait_for(lambda: alerting.sink.alerts, timeout=10)
        [delivered] = alerting.sink.alerts
        assert delivered.alert_id == "a" * 20 and delivered.subject == "old-bot"
        assert delivered.data["bot"] == "old-bot" and delivered.title == "old-bot is down"
    finally:
        await alerting.delivery.close()
        await store.close()
