"""Quota alerts: a budget or pool crossing a threshold is its ``quota`` incident.

A deeper crossing opens the incident, or announces the change on the open one (warning, then
critical, is two alerts of one incident); back above every threshold, a reset or a rollover
resolves it. The incident's subject is the budget's or pool's name, so one bot can be down and
over quota at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from chatops.alerts.router import AlertRouter, PlainStyle
from chatops.records.alerts import Alert, Incident, Severity
from chatops.runtime.bus import EventBus
from chatops.services.quotas.events import QuotaCleared, QuotaCrossed

QUOTA = "quota"
"""The incident kind of a pool or budget running low."""


class QuotaStyle(PlainStyle):
    """Quota alerts say "X % left of …" in their title (see :class:`AlertRouter`)."""

    def opened(self, incident: Incident, now: float) -> Alert:
        headline = incident.detail.splitlines()[0]
        return self._alert(incident, f"quota_{incident.state}", headline, now)

    def resolved(self, incident: Incident, state: str, now: float) -> Alert:
        alert = self._alert(incident, "quota_reset", f"{incident.subject}: {state}", now, state)
        return replace(alert, severity=Severity.RESOLVED)


class QuotaAlerts:
    def __init__(self, router: AlertRouter, bus: EventBus) -> None:
        self._router = router
        router.register_style(QUOTA, QuotaStyle())
        self._unsubscribe: list[Callable[[], None]] = [
            bus.subscribe(QuotaCrossed, self.on_crossed),
            bus.subscribe(QuotaCleared, self.on_cleared),
        ]

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()

    def on_crossed(self, event: QuotaCrossed) -> None:
        self._router.problem(
            event.name,
            QUOTA,
            state=event.state,
            severity=event.severity,
            detail=event.detail,
            ts=event.ts,
            announce_change=True,
        )

    def on_cleared(self, event: QuotaCleared) -> None:
        self._router.resolve(event.name, QUOTA, state=event.why, ts=event.ts)
