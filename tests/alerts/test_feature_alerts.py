"""Every feature raises its alerts one way: its service publishes a typed event on the bus, and
the feature's alert subscriber makes it the router's incident or notice. Each event, published
here as its service would, reaches a sink once, with the title, severity, incident kind and data
it always had; one test runs the restart policy itself, in a real controller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from chatops.alerts.cache import CacheAlerts
from chatops.alerts.quotas import QuotaAlerts
from chatops.alerts.restarts import RestartAlerts
from chatops.composition.controller import Controller
from chatops.config.recovery import BotRecovery, RecoveryConfig
from chatops.records.alerts import Severity
from chatops.records.cache import PlanItem
from chatops.records.fleet import RestartNotice
from chatops.services.cache.events import CacheCleaned, CacheOverWarning, CacheUnderWarning
from chatops.services.cache.plan import MB
from chatops.services.quotas.events import QuotaCleared, QuotaCrossed
from chatops.services.recovery.events import RestartFatal
from chatops.services.recovery.restarts import RestartService
from chatops.store import Store
from tests.alerts.test_incidents import Alerting
from tests.conftest import FakeClock, RecordingSink, make_settings, wait_for

DAY = 86400.0


@pytest.fixture
async def alerting(store: Store, clock: FakeClock) -> AsyncIterator[Alerting]:
    """The fleet's alerts (the harness's) and every other feature's, as the controller has."""
    harness = await Alerting(store, clock).start()
    QuotaAlerts(harness.router, harness.bus)
    CacheAlerts(harness.router, harness.bus, repeat=DAY)
    RestartAlerts(harness.router, harness.bus)
    yield harness
    await harness.delivery.close()


async def test_a_quota_crossing_is_its_quota_incident(alerting: Alerting) -> None:
    bus, clock = alerting.bus, alerting.clock
    detail = "25% left of budget daily\n7.5 of 10 usd per day"
    bus.publish(QuotaCrossed(clock(), "daily", "warning", Severity.WARNING, detail))
    bus.publish(QuotaCrossed(clock(), "daily", "warning", Severity.WARNING, detail))
    clock.advance(60)
    bus.publish(QuotaCrossed(clock(), "daily", "critical", Severity.CRITICAL, "9% left of daily"))
    clock.advance(60)
    bus.publish(QuotaCleared(clock(), "daily", "new period, budget renewed"))
    assert await alerting.sent() == [
        ("daily", "quota_warning"),
        ("daily", "quota_critical"),
        ("daily", "quota_reset"),
    ]
    warning, critical, reset = alerting.sink.alerts
    assert warning.title == "25% left of budget daily" and warning.body == detail
    assert warning.severity == Severity.WARNING and warning.incident_kind == "quota"
    assert critical.title == "9% left of daily" and critical.severity == Severity.CRITICAL
    assert critical.incident_id == warning.incident_id == reset.incident_id
    assert reset.title == "daily: new period, budget renewed"
    assert reset.severity == Severity.RESOLVED and alerting.router.incidents == {}


async def test_the_cache_check_is_its_cache_incident_and_clean_notice(
    alerting: Alerting,
) -> None:
    bus, clock = alerting.bus, alerting.clock
    over = CacheOverWarning(clock(), 600 * MB, 500.0, 12)
    bus.publish(over)
    bus.publish(over)  # every check says so while it lasts: one alert
    assert await alerting.sent() == [("cache", "cache")]
    [warning] = alerting.sink.alerts
    assert warning.title == "cache: over" and warning.severity == Severity.WARNING
    assert warning.body == (
        "the cache holds 600 MB, over its 500 MB warning (12 entries; /cache clean shows what "
        "would go)"
    )
    assert warning.incident_kind == "cache"

    clock.advance(3600)  # alerts.repeat_interval: the cache's own (a day) applies instead
    alerting.router.tick()
    clock.advance(DAY - 3600)
    alerting.router.tick()
    removed = (
        PlanItem("t0", "claude", 60 * MB, clock() - 7200, 1, "size"),
        PlanItem("t1", "claude", 40 * MB, clock() - 3600, 2, "size"),
    )
    bus.publish(CacheCleaned(clock(), removed, 100 * MB, 500 * MB))
    bus.publish(CacheUnderWarning(clock(), 500.0))
    bus.publish(CacheUnderWarning(clock(), 500.0))  # nothing open any more: nothing more
    assert await alerting.sent() == [
        ("cache", "cache"),
        ("cache", "reminder"),
        ("cache", "cache_cleaned"),
        ("cache", "cache_resolved"),
    ]
    _, _, cleaned, resolved = alerting.sink.alerts
    assert cleaned.title == "🧹 Auto-clean removed 2 cache entries (100.0 MB)"
    assert cleaned.body == "t0, t1\noldest was 2h 0m old; 500.0 MB left"
    assert cleaned.severity == Severity.INFO and cleaned.incident_kind is None
    assert cleaned.data == {"removed": ["t0", "t1"], "freed_bytes": 100 * MB}
    assert resolved.title == "cache: back under 500 MB" and resolved.severity == Severity.RESOLVED


async def test_the_restart_policy_giving_up_is_its_restart_incident(alerting: Alerting) -> None:
    bus, clock = alerting.bus, alerting.clock
    bus.publish(RestartFatal(clock(), "crasher", "5 starts within 300s"))
    bus.publish(RestartNotice(clock(), "crasher", "not_back", "by alice: no new process"))
    clock.advance(60)
    bus.publish(RestartNotice(clock(), "crasher", "restarted", "by alice: back as pid 2"))
    assert await alerting.sent() == [("crasher", "restart"), ("crasher", "restart_resolved")]
    fatal, back = alerting.sink.alerts
    assert fatal.title == "crasher: fatal" and fatal.severity == Severity.CRITICAL
    assert fatal.body == "crasher keeps exiting: 5 starts within 300s"
    assert fatal.incident_kind == "restart"
    assert back.title == "crasher: restarted" and back.severity == Severity.RESOLVED
    assert back.incident_id == fatal.incident_id


async def test_the_restart_service_giving_up_reaches_the_sink(
    workdir: Path, start_controller: Any
) -> None:
    """The service's side of it: a bot that cannot even be started, once more than the policy
    allows, is FATAL, and the controller's restart alerts say so."""
    clock = FakeClock()
    sink = RecordingSink()
    ctl: Controller = await start_controller(make_settings(workdir), clock=clock, sinks=[sink])
    config = RecoveryConfig(
        auto_restart=True,
        max_starts=1,
        bots={"ghost": BotRecovery(command=[str(workdir / "no-such-bot")])},
    )
    restarts = RestartService(config, ctl.services.fleet, ctl.services.bus, clock=clock)
    restarts.policy.starting("ghost", clock())  # its one start within the window
    try:
        await restarts.start()
    finally:
        await restarts.close()
    assert restarts.policy.bots["ghost"].state == "fatal"
    await ctl.store.flush()
    await wait_for(lambda: not ctl.services.delivery.pending, timeout=10)
    [fatal] = [alert for alert in sink.alerts if alert.subject == "ghost"]
    assert fatal.kind == "restart" and fatal.severity == Severity.CRITICAL
    assert fatal.body.startswith("ghost keeps exiting: 1 starts within 300s")
