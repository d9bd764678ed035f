"""The alert router: incidents of any kind, and the alerts they send.

An incident is keyed by ``(subject, kind)``: a bot's ``down`` incident and the same bot's
``quota`` incident are two incidents, opened, reminded and resolved independently.

* :meth:`AlertRouter.problem` opens an incident and sends one alert; while it stays open, later
  calls only update it (a stale bot that goes down is the same outage).
* While it lasts, a reminder every ``repeat_interval`` (0 turns reminders off).
* :meth:`AlertRouter.resolve` closes it with one alert, if it was ever announced.
* :meth:`AlertRouter.notify` sends an alert outside any incident (flapping, an auto-clean),
  to every sink or to the sinks of some kinds only (an approval request: the webhooks).
* A silence (a subject, optionally one kind, or maintenance for all) holds notifications back,
  not incidents: an incident still open when its silence ends is announced then.
* :meth:`AlertRouter.pause` keeps a subject's incidents quiet (a flapping bot) until resumed.
* :meth:`AlertRouter.on_change` tells a listener of every change to an incident (opened,
  updated, resolved, held back or let go): the Alertmanager publisher keeps its copy of the
  open incidents in step with it, asking :meth:`AlertRouter.held` what a silence or a pause
  holds back.

How an incident's alerts read is its kind's :class:`Style`, registered by the feature that
raises it (the fleet registers ``down``); a kind without one gets :class:`PlainStyle`.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import replace
from typing import Protocol

from chatops.alerts.delivery import AlertDelivery
from chatops.alerts.silences import SilenceService
from chatops.alerts.sinks import SinkKind
from chatops.config import AlertsConfig
from chatops.presentation.formatting import describe_duration
from chatops.records.alerts import Alert, Incident, Severity
from chatops.store import Store
from chatops.timeutil import Clock, wall_clock

log = logging.getLogger(__name__)

RECENT_ALERTS = 100


class Style(Protocol):
    def opened(self, incident: Incident, now: float) -> Alert: ...

    def reminder(self, incident: Incident, now: float) -> Alert: ...

    def resolved(self, incident: Incident, state: str, now: float) -> Alert: ...


class PlainStyle:
    """Alerts for an incident kind that brings no style of its own."""

    def opened(self, incident: Incident, now: float) -> Alert:
        return self._alert(incident, incident.kind, f"{incident.subject}: {incident.state}", now)

    def reminder(self, incident: Incident, now: float) -> Alert:
        title = f"{incident.subject} is still {incident.state}"
        body = f"{incident.detail}\nOpen for {describe_duration(now - incident.opened_at)}"
        return self._alert(incident, "reminder", title, now, body)

    def resolved(self, incident: Incident, state: str, now: float) -> Alert:
        title = f"{incident.subject}: {state}"
        body = f"resolved after {describe_duration(now - incident.opened_at)}"
        alert = self._alert(incident, f"{incident.kind}_resolved", title, now, body)
        return replace(alert, severity=Severity.RESOLVED)

    @staticmethod
    def _alert(
        incident: Incident, kind: str, title: str, now: float, body: str | None = None
    ) -> Alert:
        return Alert(
            kind=kind,
            subject=incident.subject,
            severity=incident.severity,
            title=title,
            body=incident.detail if body is None else body,
            ts=now,
            incident_kind=incident.kind,
            incident_id=incident.id,
            opened_at=incident.opened_at,
        )


class AlertRouter:
    def __init__(
        self,
        store: Store,
        config: AlertsConfig,
        delivery: AlertDelivery,
        silences: SilenceService,
        *,
        clock: Clock = wall_clock,
    ) -> None:
        self._tables = store.alerts
        self._config = config
        self._delivery = delivery
        self._silences = silences
        self._clock = clock
        self.incidents: dict[tuple[str, str], Incident] = {}
        self._styles: dict[str, Style] = {}
        self._paused: set[str] = set()
        self._tick_hooks: list[Callable[[], None]] = []
        self._listeners: list[Callable[[Incident], None]] = []
        self._repeat: dict[str, float] = {}
        self._next_id = 1
        self.recent: deque[Alert] = deque(maxlen=RECENT_ALERTS)
        """The latest alerts sent, newest first, since the controller started (the web
        dashboard's incidents page)."""

    async def start(self) -> None:
        restored = await self._tables.open_incidents()
        self._next_id = restored.next_id
        self.incidents = {incident.key: incident for incident in restored.rows}

    def register_style(self, kind: str, style: Style) -> None:
        self._styles[kind] = style

    def set_repeat(self, kind: str, seconds: float) -> None:
        """Remind of open ``kind`` incidents every ``seconds`` (0: never) instead of
        ``alerts.repeat_interval`` (the cache warning repeats daily)."""
        self._repeat[kind] = seconds

    def on_tick(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` at the start of every tick (a feature's own timers, e.g. flapping)."""
        self._tick_hooks.append(hook)

    def on_change(self, listener: Callable[[Incident], None]) -> None:
        """Call ``listener`` with an incident whenever it opens, changes (state, severity,
        detail), resolves (``resolved_at`` set), or may have started or stopped being held (a
        pause, a resume, a silence that ended). What it raises is logged, never the caller's."""
        self._listeners.append(listener)

    def style(self, kind: str) -> Style:
        """How ``kind``'s alerts read (:class:`PlainStyle` for a kind without its own)."""
        return self._styles.get(kind) or PlainStyle()

    # -- incidents -------------------------------------------------------------------------------

    def problem(
        self,
        subject: str,
        kind: str,
        *,
        state: str,
        severity: Severity,
        detail: str,
        ts: float,
        announce_change: bool = False,
    ) -> Incident:
        """Open the ``(subject, kind)`` incident and announce it, or update the open one (and
        announce the change too with ``announce_change``: a quota going from warning to
        critical is a new alert on the same incident)."""
        incident = self.incidents.get((subject, kind))
        if incident is not None:
            if (incident.state, incident.severity, incident.detail) != (state, severity, detail):
                changed = incident.state != state
                incident.state, incident.severity, incident.detail = state, severity, detail
                self._tables.save_incident(incident)
                if changed and announce_change and not self.held(incident):
                    self._announce(incident, ts)
                self._changed(incident)
            return incident
        incident = Incident(
            id=self._next_id,
            subject=subject,
            kind=kind,
            opened_at=ts,
            severity=severity,
            state=state,
            detail=detail,
        )
        self._next_id += 1
        self.incidents[incident.key] = incident
        self._tables.save_incident(incident)
        if not self.held(incident):
            self._announce(incident, ts)
        self._changed(incident)
        return incident

    def resolve(
        self, subject: str, kind: str, *, state: str, ts: float, quietly: bool = False
    ) -> bool:
        """Close the ``(subject, kind)`` incident (``quietly``: without an alert); False when
        none is open."""
        incident = self.incidents.pop((subject, kind), None)
        if incident is None:
            return False
        incident.resolved_at = ts
        self._tables.save_incident(incident)
        if incident.last_notified_at is not None and not quietly:  # else nothing to take back
            self._send(self.style(kind).resolved(incident, state, ts))
        self._changed(incident)
        return True

    def notify(self, alert: Alert, *, to: Collection[SinkKind] | None = None) -> None:
        """An alert outside any incident's life; a silence drops it. ``to``: for the sinks of
        those kinds only (an approval request is announced to the webhooks)."""
        if self._silences.is_silenced(alert.subject, alert.incident_kind):
            return
        self._send(alert, to)

    def pause(self, subject: str) -> None:
        """Keep ``subject``'s incidents quiet (no announcement, no reminder) until resumed."""
        self._paused.add(subject)
        self._subject_changed(subject)

    def resume(self, subject: str) -> None:
        self._paused.discard(subject)
        self._subject_changed(subject)

    # -- time ------------------------------------------------------------------------------------

    def tick(self) -> None:
        """Scheduler job: expire silences, announce what they held back, send reminders."""
        for hook in self._tick_hooks:
            hook()
        now = self._clock()
        self._silences.expire()
        for incident in list(self.incidents.values()):
            if self.held(incident):
                continue
            repeat = self._repeat.get(incident.kind, self._config.repeat_interval)
            if incident.last_notified_at is None:
                self._announce(incident, now)  # held back by a silence that has now ended
                self._changed(incident)
            elif repeat > 0 and now - incident.last_notified_at >= repeat:
                incident.last_notified_at = now
                self._tables.save_incident(incident)
                self._send(self.style(incident.kind).reminder(incident, now))

    # -- internals -------------------------------------------------------------------------------

    def held(self, incident: Incident) -> bool:
        """Whether ``incident`` is kept quiet now: its subject paused, or a silence covers it."""
        return incident.subject in self._paused or self._silences.is_silenced(
            incident.subject, incident.kind
        )

    def _changed(self, incident: Incident) -> None:
        for listener in self._listeners:
            try:
                listener(incident)
            except Exception:
                log.exception("incident listener failed on %s %s", incident.subject, incident.kind)

    def _subject_changed(self, subject: str) -> None:
        for incident in [i for i in self.incidents.values() if i.subject == subject]:
            self._changed(incident)

    def _announce(self, incident: Incident, now: float) -> None:
        incident.last_notified_at = now
        self._tables.save_incident(incident)
        self._send(self.style(incident.kind).opened(incident, now))

    def _send(self, alert: Alert, to: Collection[SinkKind] | None = None) -> None:
        self.recent.appendleft(alert)
        log.info("alert: %s %s (%s)", alert.kind, alert.subject, alert.body.partition("\n")[0])
        self._delivery.enqueue(alert, to)
