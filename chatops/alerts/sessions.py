"""Coding-agent session alerts: a session that waits for its operator, and one that finished.

* :class:`~chatops.records.sessions.SessionWaiting` opens the session's ``agent_waiting``
  incident ("coder is waiting", with what it said): told to the channel, the webhooks and
  Alertmanager like any incident, reminded like any. While it is open, another waiting of the
  same session only updates it (a second identical ``Notification`` posts nothing).
* It is resolved, quietly, when the session acts again
  (:class:`~chatops.records.sessions.SessionResumed`), ends, or goes down: the operator saw
  the waiting, its end is no news worth a second message (the ``down`` incident tells a
  crash), and Alertmanager's copy is closed all the same (the router tells its listeners of
  every resolve).
* :class:`~chatops.records.sessions.SessionFinished` is a one-shot notice ("coder finished",
  the first lines of its last answer) through :meth:`AlertRouter.notify`: it is no incident
  (nothing stays open to resolve), it goes through the outbox once (stored before it is sent,
  deduplicated across a crash like every alert), and a silence drops it.

Both are throttled per session and kind (``alerts.session_notice_interval``): within that many
seconds of the last one told, another is not told. Both are held by a silence of the session's
name (``/silence coder``, ``chatops silence coder``), or of its kind only
(``--kind agent_finished``): the session is a fleet member, so the silence service knows it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from chatops.alerts.router import AlertRouter, PlainStyle
from chatops.config import AlertsConfig
from chatops.presentation.formatting import describe_duration
from chatops.records.alerts import Alert, Incident, Severity
from chatops.records.fleet import ALIVE_STATUSES, FleetEvent
from chatops.records.sessions import SessionFinished, SessionResumed, SessionWaiting
from chatops.runtime.bus import EventBus

WAITING = "agent_waiting"
FINISHED = "agent_finished"
SESSION_KINDS = frozenset({WAITING, FINISHED})
"""The incident kinds of this module: the Discord door puts a Reply button under them."""
NOTICE_LINES = 12
NOTICE_CHARS = 1000
"""How much of a finished session's last answer a notice carries: its first lines, well within
an embed's 4,096 characters (and a webhook receiver's patience)."""


def first_lines(text: str, lines: int = NOTICE_LINES, chars: int = NOTICE_CHARS) -> str:
    """The start of ``text``: at most ``lines`` lines and ``chars`` characters, with an
    ellipsis when something was cut."""
    kept = text.strip().splitlines()[:lines]
    shown = "\n".join(kept)
    cut = len(shown) > chars or len(text.strip().splitlines()) > lines
    shown = shown[:chars].rstrip()
    return f"{shown}\n…" if cut else shown


def _data(agent: str) -> dict[str, str]:
    return {"agent": agent}


class WaitingStyle(PlainStyle):
    """How an ``agent_waiting`` incident reads ("coder is waiting"), the agent in the data."""

    def opened(self, incident: Incident, now: float) -> Alert:
        return self._with_agent(
            self._alert(incident, WAITING, f"{incident.subject} is waiting", now), incident
        )

    def reminder(self, incident: Incident, now: float) -> Alert:
        title = f"{incident.subject} is still waiting"
        body = f"{incident.detail}\nWaiting for {describe_duration(now - incident.opened_at)}"
        return self._with_agent(self._alert(incident, "reminder", title, now, body), incident)

    def resolved(self, incident: Incident, state: str, now: float) -> Alert:
        alert = super().resolved(incident, state, now)
        body = f"waited {describe_duration(now - incident.opened_at)}"
        return self._with_agent(replace(alert, body=body), incident)

    @staticmethod
    def _with_agent(alert: Alert, incident: Incident) -> Alert:
        return replace(alert, data=_data(incident.subject))


def finished_alert(event: SessionFinished) -> Alert:
    """The one-shot notice of a finished turn."""
    said = first_lines(event.message) or "(it said nothing)"
    return Alert(
        kind=FINISHED,
        subject=event.agent,
        severity=Severity.INFO,
        title=f"{event.agent} finished",
        body=said,
        ts=event.ts,
        incident_kind=FINISHED,
        data={**_data(event.agent), "session_kind": event.kind},
    )


class SessionAlerts:
    def __init__(self, router: AlertRouter, bus: EventBus, config: AlertsConfig) -> None:
        self._router = router
        self._config = config
        self._told: dict[tuple[str, str], float] = {}
        """(session, kind) -> when it was last told: the throttle."""
        router.register_style(WAITING, WaitingStyle())
        self._unsubscribe: list[Callable[[], None]] = [
            bus.subscribe(SessionWaiting, self.on_waiting),
            bus.subscribe(SessionResumed, self.on_resumed),
            bus.subscribe(SessionFinished, self.on_finished),
            bus.subscribe(FleetEvent, self.on_fleet),
        ]

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()

    def _throttled(self, agent: str, kind: str, ts: float) -> bool:
        """True when ``agent``'s ``kind`` was told less than the interval ago; else it is
        told now (the time is kept)."""
        last = self._told.get((agent, kind))
        if last is not None and ts - last < self._config.session_notice_interval:
            return True
        self._told[(agent, kind)] = ts
        return False

    def on_waiting(self, event: SessionWaiting) -> None:
        """Open the incident (unless told within the interval), or update the open one: an
        open incident is never told twice."""
        is_open = (event.agent, WAITING) in self._router.incidents
        if not is_open and self._throttled(event.agent, WAITING, event.ts):
            return
        self._router.problem(
            event.agent,
            WAITING,
            state="waiting",
            severity=Severity.WARNING,
            detail=first_lines(event.message) or "it waits for its operator",
            ts=event.ts,
        )

    def on_resumed(self, event: SessionResumed) -> None:
        self._router.resolve(event.agent, WAITING, state="resumed", ts=event.ts, quietly=True)

    def on_finished(self, event: SessionFinished) -> None:
        if not self._throttled(event.agent, FINISHED, event.ts):
            self._router.notify(finished_alert(event))

    def on_fleet(self, event: FleetEvent) -> None:
        """A session that ends or goes down waits for nobody any more."""
        if event.kind != "status_changed" or event.new_status is None:
            return
        if event.new_status not in ALIVE_STATUSES:
            self._router.resolve(
                event.channel, WAITING, state=event.new_status, ts=event.ts, quietly=True
            )
