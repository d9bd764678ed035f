"""The alert router: turns fleet transitions into incidents and incidents into alerts.

* A bot going ``down`` or ``stale`` opens one incident and one alert; a stale bot that then
  goes down stays the same incident.
* While it lasts, a reminder every ``repeat_interval`` (0 turns reminders off).
* Back ``online`` (or cleanly ``offline``) resolves it with the downtime.
* ``flapping_transitions`` transitions within ``flapping_window`` seconds send one flapping
  alert; the bot's alerts then stay quiet until it has been stable for a whole window.
* A silence (one bot, or maintenance for all) holds notifications back, not incidents: an
  incident still open when its silence ends is announced then.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from chatops.alerts.delivery import AlertDelivery
from chatops.alerts.model import Alert, AlertKind
from chatops.alerts.silences import SilenceService
from chatops.config import AlertsConfig
from chatops.models import FleetEvent
from chatops.runtime.bus import EventBus
from chatops.store import Store
from chatops.timeutil import Clock, from_sqlite, to_sqlite, wall_clock

log = logging.getLogger(__name__)

PROBLEM_STATUSES = {"down": AlertKind.DOWN, "stale": AlertKind.STALE}
HEALTHY_STATUSES = frozenset({"online", "offline"})


@dataclass(slots=True)
class Incident:
    id: int
    channel: str
    kind: str
    opened_at: float
    detail: str
    last_notified_at: float | None = None
    resolved_at: float | None = None

    def row(self) -> tuple[object, ...]:
        return (
            self.id,
            self.channel,
            self.kind,
            to_sqlite(self.opened_at),
            None if self.last_notified_at is None else to_sqlite(self.last_notified_at),
            None if self.resolved_at is None else to_sqlite(self.resolved_at),
            self.detail,
        )


class AlertRouter:
    def __init__(
        self,
        store: Store,
        bus: EventBus,
        config: AlertsConfig,
        delivery: AlertDelivery,
        silences: SilenceService,
        *,
        clock: Clock = wall_clock,
    ) -> None:
        self._tables = store.alerts
        self._bus = bus
        self._config = config
        self._delivery = delivery
        self._silences = silences
        self._clock = clock
        self.incidents: dict[str, Incident] = {}
        self._transitions: dict[str, deque[float]] = {}
        self._flapping: dict[str, float] = {}  # channel -> time of its latest transition
        self._last_status: dict[str, str] = {}
        self._next_id = 1
        self._unsubscribe: Callable[[], None] | None = None

    async def start(self) -> None:
        self._next_id = await self._tables.next_id("incidents")
        for row in await self._tables.open_incidents():
            self.incidents[row["channel"]] = Incident(
                id=row["id"],
                channel=row["channel"],
                kind=row["kind"],
                opened_at=from_sqlite(row["opened_at"]),
                detail=row["detail"] or "",
                last_notified_at=from_sqlite(row["last_notified_at"])
                if row["last_notified_at"]
                else None,
            )
        self._unsubscribe = self._bus.subscribe(self.on_event)

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    # -- events ----------------------------------------------------------------------------------

    def on_event(self, event: FleetEvent) -> None:
        if event.kind != "status_changed" or event.new_status is None:
            return
        channel, status = event.channel, event.new_status
        self._last_status[channel] = status
        if self._record_transition(channel, event.ts, status):
            return
        incident = self.incidents.get(channel)
        if status in PROBLEM_STATUSES:
            if incident is None:
                self._open(channel, status, event.detail or status, event.ts)
            elif incident.kind != status:
                incident.kind = status  # stale, then down: still the same outage
                incident.detail = event.detail or status
                self._save(incident)
        elif status in HEALTHY_STATUSES and incident is not None:
            self._resolve(incident, status, event.ts)

    def _record_transition(self, channel: str, ts: float, status: str) -> bool:
        """Track flapping; True when this transition is absorbed by a flapping episode."""
        window = self._config.flapping_window
        recent = self._transitions.setdefault(channel, deque())
        recent.append(ts)
        while recent and recent[0] < ts - window:
            recent.popleft()
        if channel in self._flapping:
            self._flapping[channel] = ts
            return True
        if len(recent) >= self._config.flapping_transitions:
            self._flapping[channel] = ts
            incident = self.incidents.get(channel)
            self._notify(
                Alert(
                    kind=AlertKind.FLAPPING,
                    channel=channel,
                    status=status,
                    detail=f"{len(recent)} status changes in {window / 60:g} minutes; "
                    "alerts for it are paused until it is stable",
                    ts=ts,
                    incident_id=incident.id if incident else None,
                )
            )
            return True
        return False

    # -- time ------------------------------------------------------------------------------------

    def tick(self) -> None:
        """Scheduler job: end flapping episodes, send reminders and held-back alerts."""
        now = self._clock()
        self._silences.expire()
        for channel, last in list(self._flapping.items()):
            if now - last >= self._config.flapping_window:
                del self._flapping[channel]
                self._transitions.pop(channel, None)
                self._settle_after_flapping(channel, now)
        repeat = self._config.repeat_interval
        for incident in list(self.incidents.values()):
            if incident.channel in self._flapping or self._silences.is_silenced(incident.channel):
                continue
            if incident.last_notified_at is None:
                self._announce(incident, now)  # held back by a silence that has now ended
            elif repeat > 0 and now - incident.last_notified_at >= repeat:
                incident.last_notified_at = now
                self._save(incident)
                self._notify(
                    self._incident_alert(incident, AlertKind.REMINDER, now, downtime=True),
                    force=True,
                )

    def _settle_after_flapping(self, channel: str, now: float) -> None:
        status = self._last_status.get(channel, "unknown")
        incident = self.incidents.get(channel)
        if status in PROBLEM_STATUSES and incident is None:
            self._open(channel, status, f"{status} after flapping", now)
            return
        if status in HEALTHY_STATUSES and incident is not None:
            self._close(incident, now)
        self._notify(
            Alert(
                kind=AlertKind.STABLE,
                channel=channel,
                status=status,
                detail=f"stable for {self._config.flapping_window / 60:g} minutes, now {status}",
                ts=now,
            )
        )

    # -- incidents -------------------------------------------------------------------------------

    def _open(self, channel: str, status: str, detail: str, ts: float) -> None:
        incident = Incident(
            id=self._next_id, channel=channel, kind=status, opened_at=ts, detail=detail
        )
        self._next_id += 1
        self.incidents[channel] = incident
        self._save(incident)
        if not self._silences.is_silenced(channel):
            self._announce(incident, ts)

    def _announce(self, incident: Incident, now: float) -> None:
        incident.last_notified_at = now
        self._save(incident)
        kind = PROBLEM_STATUSES.get(incident.kind, AlertKind.DOWN)
        self._notify(self._incident_alert(incident, kind, now), force=True)

    def _resolve(self, incident: Incident, status: str, ts: float) -> None:
        self._close(incident, ts)
        if incident.last_notified_at is None:
            return  # never announced (silenced throughout): nothing to take back
        alert = self._incident_alert(
            incident,
            AlertKind.RECOVERED,
            ts,
            status=status,
            detail=f"{incident.channel} is {status} again",
            downtime=True,
        )
        self._notify(alert, force=True)

    def _close(self, incident: Incident, ts: float) -> None:
        incident.resolved_at = ts
        self._save(incident)
        del self.incidents[incident.channel]

    @staticmethod
    def _incident_alert(
        incident: Incident,
        kind: AlertKind,
        now: float,
        *,
        status: str | None = None,
        detail: str | None = None,
        downtime: bool = False,
    ) -> Alert:
        """An alert about ``incident``; status and detail default to the incident's own."""
        return Alert(
            kind=kind,
            channel=incident.channel,
            status=incident.kind if status is None else status,
            detail=incident.detail if detail is None else detail,
            ts=now,
            incident_id=incident.id,
            opened_at=incident.opened_at,
            downtime=now - incident.opened_at if downtime else None,
        )

    def _save(self, incident: Incident) -> None:
        self._tables.save_incident(incident.row, incident.id)

    def _notify(self, alert: Alert, *, force: bool = False) -> None:
        if not force and self._silences.is_silenced(alert.channel):
            return
        log.info("alert: %s %s (%s)", alert.kind, alert.channel, alert.detail)
        self._delivery.enqueue(alert)
