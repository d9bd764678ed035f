"""Host alerts: an edge that stops answering its hub is one ``host_down`` incident naming its
bots, not one alert per bot; its return resolves it.

The incident's subject is the host's name, so a host can be down while one of its bots' own
incidents (opened before the host went away) stays open beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from chatops.alerts.router import AlertRouter, PlainStyle
from chatops.presentation.formatting import plural
from chatops.records.alerts import Alert, Incident, Severity
from chatops.runtime.bus import EventBus
from chatops.services.hosts import HostDown, HostUp

HOST_DOWN = "host_down"
NAMED = 20
"""Bots named in the incident's text; the rest are counted (the fleet lists them all)."""


class HostStyle(PlainStyle):
    """ "host edge-b is down" / "host edge-b is back"; the host in the data, so a storm's
    summary counts it under its host."""

    def opened(self, incident: Incident, now: float) -> Alert:
        alert = self._alert(incident, HOST_DOWN, f"host {incident.subject} is down", now)
        return replace(alert, data={"host": incident.subject})

    def reminder(self, incident: Incident, now: float) -> Alert:
        return replace(super().reminder(incident, now), data={"host": incident.subject})

    def resolved(self, incident: Incident, state: str, now: float) -> Alert:
        alert = super().resolved(incident, state, now)
        title = f"host {incident.subject} is back ({state})"
        return replace(alert, title=title, data={"host": incident.subject})


class HostAlerts:
    def __init__(self, router: AlertRouter, bus: EventBus) -> None:
        self._router = router
        router.register_style(HOST_DOWN, HostStyle())
        self._unsubscribe: list[Callable[[], None]] = [
            bus.subscribe(HostDown, self.on_down),
            bus.subscribe(HostUp, self.on_up),
        ]

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()

    def on_down(self, event: HostDown) -> None:
        names = ", ".join(event.bots[:NAMED])
        more = len(event.bots) - NAMED
        listed = names + (f" and {more} more" if more > 0 else "")
        detail = f"{event.reason}; {plural(len(event.bots), 'bot')} unreachable" + (
            f": {listed}" if event.bots else ""
        )
        self._router.problem(
            event.host,
            HOST_DOWN,
            state="down",
            severity=Severity.CRITICAL,
            detail=detail,
            ts=event.ts,
        )

    def on_up(self, event: HostUp) -> None:
        self._router.resolve(
            event.host, HOST_DOWN, state=f"back after {event.down_for:.0f}s", ts=event.ts
        )
