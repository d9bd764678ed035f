"""A coding-agent session's alerts on the fake clock: ``agent_waiting`` is one incident while
it lasts (a second waiting posts nothing), resolved quietly when the session resumes, ends or
goes down; ``agent_finished`` is a one-shot notice of the answer's first lines; both are
throttled per session and held by a silence of the session's name or of their kind."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from chatops.alerts.router import AlertRouter
from chatops.alerts.sessions import FINISHED, WAITING, SessionAlerts, first_lines
from chatops.alerts.silences import SilenceService
from chatops.config import AlertsConfig
from chatops.records.alerts import Alert, Severity
from chatops.records.fleet import FleetEvent
from chatops.records.sessions import SessionFinished, SessionResumed, SessionWaiting
from chatops.runtime.bus import EventBus
from chatops.store import Store
from tests.conftest import FakeClock, went_down


class Outbox:
    """Delivery as the router sees it: every alert it hands over, in order."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def enqueue(self, alert: Alert, to: Collection[Any] | None = None) -> None:
        self.alerts.append(alert)

    def kinds(self) -> list[str]:
        return [alert.kind for alert in self.alerts]


async def wired(
    store: Store, clock: FakeClock, interval: float = 60
) -> tuple[EventBus, AlertRouter, Outbox, SilenceService]:
    config = AlertsConfig(session_notice_interval=interval)
    outbox = Outbox()
    silences = SilenceService(store, clock=clock)
    router = AlertRouter(store, config, outbox, silences, clock=clock)  # type: ignore[arg-type]
    bus = EventBus()
    SessionAlerts(router, bus, config)
    return bus, router, outbox, silences


def waiting(clock: FakeClock, agent: str = "coder", message: str = "Claude needs you") -> Any:
    return SessionWaiting(ts=clock(), agent=agent, kind="claude-code", message=message)


def finished(clock: FakeClock, agent: str = "coder", message: str = "Done.") -> Any:
    return SessionFinished(ts=clock(), agent=agent, kind="claude-code", message=message)


async def test_waiting_is_one_incident_until_the_session_resumes(
    store: Store, clock: FakeClock
) -> None:
    bus, router, outbox, _ = await wired(store, clock)
    bus.publish(waiting(clock))
    bus.publish(waiting(clock))  # the same notification again
    clock.advance(600)
    bus.publish(waiting(clock))  # still open: not told again, whatever the interval
    assert outbox.kinds() == [WAITING]
    [alert] = outbox.alerts
    assert alert.title == "coder is waiting" and alert.body == "Claude needs you"
    assert alert.severity is Severity.WARNING and alert.incident_kind == WAITING
    assert alert.data["agent"] == "coder"
    bus.publish(SessionResumed(ts=clock(), agent="coder"))
    assert ("coder", WAITING) not in router.incidents
    assert outbox.kinds() == [WAITING]  # resolved quietly: no second message
    # Waiting again after the interval: a new incident, told.
    clock.advance(61)
    bus.publish(waiting(clock))
    assert outbox.kinds() == [WAITING, WAITING]


async def test_a_session_that_goes_down_or_ends_waits_no_more(
    store: Store, clock: FakeClock
) -> None:
    bus, router, _, _ = await wired(store, clock)
    bus.publish(waiting(clock, "a"))
    bus.publish(waiting(clock, "b"))
    bus.publish(went_down("a"))
    assert ("a", WAITING) not in router.incidents and ("b", WAITING) in router.incidents
    ended = FleetEvent(clock(), "b", "status_changed", old_status="online", new_status="offline")
    bus.publish(ended)
    assert ("b", WAITING) not in router.incidents


async def test_finished_is_one_notice_a_minute_per_session(store: Store, clock: FakeClock) -> None:
    bus, router, outbox, _ = await wired(store, clock)
    for _ in range(10):
        bus.publish(finished(clock))
        clock.advance(5)
    bus.publish(finished(clock, "other"))
    assert outbox.kinds() == [FINISHED, FINISHED]
    assert [a.subject for a in outbox.alerts] == ["coder", "other"]
    assert router.incidents == {}  # a notice, not an incident: nothing left open
    clock.advance(60)
    bus.publish(finished(clock, message="Done again."))
    assert outbox.alerts[-1].body == "Done again." and len(outbox.alerts) == 3
    notice = outbox.alerts[0]
    assert notice.title == "coder finished" and notice.severity is Severity.INFO
    assert notice.incident_kind == FINISHED and notice.incident_id is None


async def test_a_silence_holds_both(store: Store, clock: FakeClock) -> None:
    bus, router, outbox, silences = await wired(store, clock)
    silences.add("coder", 3600)
    bus.publish(waiting(clock))
    bus.publish(finished(clock))
    assert outbox.alerts == []
    assert ("coder", WAITING) in router.incidents  # recorded, only the notification waits
    # A silence of one kind holds that kind only.
    silences.add("other", 3600, kind=FINISHED)
    bus.publish(finished(clock, "other"))
    bus.publish(waiting(clock, "other"))
    assert outbox.kinds() == [WAITING] and outbox.alerts[0].subject == "other"


def test_the_first_lines_of_a_long_answer_fit_an_embed() -> None:
    answer = "\n".join(f"line {i} " + "x" * 300 for i in range(50))
    shown = first_lines(answer)
    assert len(shown) <= 1002 and shown.endswith("\n…")
    assert first_lines("short\nanswer") == "short\nanswer"
    assert first_lines("\n".join(str(i) for i in range(20))).splitlines()[-1] == "…"
