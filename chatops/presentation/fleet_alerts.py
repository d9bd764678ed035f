"""How fleet alerts read: titles, severities and the JSON members a fleet alert adds.

A fleet outage is one incident of kind ``down`` per bot, whatever its state (``stale``, then
``down``, is the same outage). Its alerts keep the documented webhook members: ``bot``,
``status``, ``downtime_seconds`` and ``host`` (where the bot runs, null when unknown).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from chatops.presentation.formatting import describe_duration
from chatops.records.alerts import Alert, Incident, Severity

DOWN = "down"
"""The incident kind of a bot that is not running as it should (stale or down)."""

STATE_SEVERITY = {"down": Severity.CRITICAL, "stale": Severity.WARNING}
_TITLES = {
    "down": "{bot} is down",
    "stale": "{bot} is stale",
    "reminder": "{bot} is still {status}",
    "flapping": "{bot} is flapping",
    "recovered": "{bot} is back {status}",
    "stable": "{bot} stopped flapping",
    "restarted": "{bot} was restarted",
}
_V1_SEVERITY = {
    "down": Severity.CRITICAL,
    "reminder": Severity.CRITICAL,
    "stale": Severity.WARNING,
    "flapping": Severity.WARNING,
    "recovered": Severity.RESOLVED,
    "stable": Severity.RESOLVED,
}


def fleet_title(kind: str, bot: str, status: str) -> str:
    return _TITLES.get(kind, "{bot}: {status}").format(bot=bot, status=status)


def fleet_data(
    bot: str, status: str, downtime: float | None = None, host: str | None = None
) -> dict[str, Any]:
    return {"bot": bot, "status": status, "downtime_seconds": downtime, "host": host}


class FleetStyle:
    """Renders the alerts of ``down`` incidents (see :class:`~chatops.alerts.router.Style`).
    ``host_of``: where a bot runs, as the fleet knows it then (its alerts carry it: a storm is
    counted by host, and a webhook's receiver sees which machine to look at)."""

    def __init__(self, host_of: Callable[[str], str | None] = lambda bot: None) -> None:
        self._host_of = host_of

    def opened(self, incident: Incident, now: float) -> Alert:
        return self._alert(incident, incident.state, incident.state, incident.detail, now)

    def reminder(self, incident: Incident, now: float) -> Alert:
        downtime = now - incident.opened_at
        body = f"{incident.detail}\nDown for {describe_duration(downtime)}"
        return self._alert(incident, "reminder", incident.state, body, now, downtime)

    def resolved(self, incident: Incident, state: str, now: float) -> Alert:
        downtime = now - incident.opened_at
        body = f"{incident.subject} is {state} again\nDown for {describe_duration(downtime)}"
        alert = self._alert(incident, "recovered", state, body, now, downtime)
        return replace(alert, severity=Severity.RESOLVED)

    def _alert(
        self,
        incident: Incident,
        kind: str,
        status: str,
        body: str,
        now: float,
        downtime: float | None = None,
    ) -> Alert:
        return Alert(
            kind=kind,
            subject=incident.subject,
            severity=incident.severity,
            title=fleet_title(kind, incident.subject, status),
            body=body,
            ts=now,
            incident_kind=incident.kind,
            incident_id=incident.id,
            opened_at=incident.opened_at,
            data=fleet_data(incident.subject, status, downtime, self._host_of(incident.subject)),
        )


def fleet_notice(
    kind: str,
    bot: str,
    status: str,
    body: str,
    ts: float,
    severity: Severity,
    host: str | None = None,
) -> Alert:
    """A fleet alert outside any incident's life (flapping, stable, restarted)."""
    return Alert(
        kind=kind,
        subject=bot,
        severity=severity,
        title=fleet_title(kind, bot, status),
        body=body,
        ts=ts,
        incident_kind=DOWN,
        data=fleet_data(bot, status, host=host),
    )


def alert_from_v1(stored: dict[str, Any]) -> Alert:
    """An alert the previous release queued (fleet fields only), still in the outbox."""
    kind, bot, status = stored["kind"], stored["channel"], stored["status"]
    return Alert(
        kind=kind,
        subject=bot,
        severity=_V1_SEVERITY.get(kind, Severity.CRITICAL),
        title=fleet_title(kind, bot, status),
        body=stored.get("detail") or "",
        ts=stored["ts"],
        incident_kind=DOWN,
        incident_id=stored.get("incident_id"),
        opened_at=stored.get("opened_at"),
        data=fleet_data(bot, status, stored.get("downtime")),
        alert_id=stored["alert_id"],
    )
