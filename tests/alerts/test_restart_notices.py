"""The fleet's alerts around a restart chatops set off, on the injected clock: the stop is held
until the restart ends; back, one info "restarted" (or, for a bot that was down already, its
incident's recovery); not back, the held stop is the down incident then; a restart that never
says how it ended is taken as not back once its time is up, so a stop is never lost."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from chatops.records.alerts import Severity
from chatops.records.fleet import FleetEvent, RestartNotice, RestartPhase
from chatops.store import Store
from tests.alerts.test_incidents import Alerting
from tests.conftest import FakeClock, came_back, went_down


@pytest.fixture
async def alerting(store: Store, clock: FakeClock) -> AsyncIterator[Alerting]:
    harness = await Alerting(store, clock).start()
    yield harness
    await harness.delivery.close()


def notice(
    alerting: Alerting, phase: RestartPhase, detail: str = "by alice (control): back as pid 2"
) -> None:
    alerting.bus.publish(
        RestartNotice(alerting.clock(), "kissbot", phase, detail, expect_for=60.0, announce=True)
    )


async def test_back_is_one_info_alert(alerting: Alerting) -> None:
    notice(alerting, "restarting", "by alice")
    alerting.bus.publish(went_down("kissbot", "connection lost", ts=alerting.clock()))
    assert alerting.router.incidents == {}
    alerting.clock.advance(2)
    alerting.bus.publish(came_back("kissbot", ts=alerting.clock()))
    notice(alerting, "restarted")
    assert await alerting.sent() == [("kissbot", "restarted")]
    [alert] = alerting.sink.alerts
    assert alert.severity == Severity.INFO and alert.title == "kissbot was restarted"
    assert alert.body == "by alice (control): back as pid 2" and alert.incident_kind == "down"


async def test_not_back_is_the_down_incident_then(alerting: Alerting) -> None:
    notice(alerting, "restarting", "by alice")
    alerting.bus.publish(went_down("kissbot", "connection lost", ts=alerting.clock()))
    alerting.clock.advance(30)
    alerting.router.tick()
    assert await alerting.sent() == []
    notice(alerting, "not_back", "did not come back after a restart by alice: no new process")
    assert await alerting.sent() == [("kissbot", "down")]
    [alert] = alerting.sink.alerts
    assert alert.severity == Severity.CRITICAL
    assert (
        alert.body == "connection lost\ndid not come back after a restart by alice: no new process"
    )
    # It comes back later: the incident's recovery, as for any outage.
    alerting.bus.publish(came_back("kissbot", ts=alerting.clock()))
    assert await alerting.sent() == [("kissbot", "down"), ("kissbot", "recovered")]


async def test_a_bot_down_already_is_told_by_its_incident(alerting: Alerting) -> None:
    alerting.bus.publish(went_down("kissbot", "pid 7 exited", ts=alerting.clock()))
    notice(alerting, "restarting", "by alice")
    alerting.bus.publish(came_back("kissbot", ts=alerting.clock()))
    notice(alerting, "restarted")
    assert await alerting.sent() == [("kissbot", "down"), ("kissbot", "recovered")]


async def test_a_restart_that_never_ends_is_not_back_when_its_time_is_up(
    alerting: Alerting,
) -> None:
    notice(alerting, "restarting", "by alice")
    alerting.bus.publish(went_down("kissbot", "connection lost", ts=alerting.clock()))
    alerting.clock.advance(59)
    alerting.router.tick()
    assert await alerting.sent() == []
    alerting.clock.advance(1)
    alerting.router.tick()
    assert await alerting.sent() == [("kissbot", "down")]
    assert alerting.sink.alerts[0].body == "connection lost\na restart did not end in time"
    notice(alerting, "restarted")  # too late to be believed twice: nothing more
    assert await alerting.sent() == [("kissbot", "down")]


async def test_a_silenced_bot_is_not_told_it_restarted(alerting: Alerting) -> None:
    alerting.silences.add("kissbot", 600, kind="down", created_by="op")
    notice(alerting, "restarting", "by alice")
    notice(alerting, "restarted")
    assert await alerting.sent() == []


async def test_a_clean_stop_that_never_comes_back_is_a_down(alerting: Alerting) -> None:
    """A bot that unregisters on SIGTERM (offline, not down) and is not back: the restart's
    failure still pages, once."""
    notice(alerting, "restarting", "by alice")
    alerting.bus.publish(
        FleetEvent(
            ts=alerting.clock(),
            channel="kissbot",
            kind="status_changed",
            old_status="online",
            new_status="offline",
            detail="unregistered",
        )
    )
    assert await alerting.sent() == []
    notice(alerting, "not_back", "did not come back after a restart by alice")
    assert await alerting.sent() == [("kissbot", "down")]
    [alert] = alerting.sink.alerts
    assert alert.severity == Severity.CRITICAL and "did not come back" in alert.body


async def test_a_refused_restart_of_a_bot_already_down_leaves_its_incident_as_it_was(
    alerting: Alerting,
) -> None:
    """A bot that crashed, then a restart asked by hand that could not run (no command, its
    process gone): its down incident keeps saying what happened; no stop for a restart is
    made up."""
    alerting.bus.publish(went_down("kissbot", "pid 20757 exited", ts=alerting.clock()))
    assert await alerting.sent() == [("kissbot", "down")]
    notice(alerting, "restarting", "by alice")
    notice(alerting, "not_restarted", "not restarted: its process (pid 20757) is gone")
    assert await alerting.sent() == [("kissbot", "down")]  # nothing more told
    incident = alerting.router.incidents[("kissbot", "down")]
    assert incident.detail == "pid 20757 exited"
