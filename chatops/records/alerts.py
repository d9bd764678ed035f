"""What an alert says, whatever it is about and wherever it is delivered.

An alert has a ``kind`` (what happened: ``down``, ``recovered``, ``quota_warning``…), a
``subject`` (what it is about: a bot's name, a quota pool…), a ``severity``, a plain-text
``title`` and ``body``, and ``data``: the members its kind adds to the generic JSON body (a
fleet alert's ``bot``, ``status`` and ``downtime_seconds``). Alerts that belong to an incident
carry its kind and id; an incident is keyed by ``(subject, incident_kind)``, so one bot can be
down and over quota at once, as two incidents.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


def new_alert_id() -> str:
    """20 hex characters: unique, and short enough for a Discord nonce (25 at most)."""
    return uuid.uuid4().hex[:20]


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"
    RESOLVED = "resolved"

    @property
    def is_problem(self) -> bool:
        """Problems mention the alert role and carry a Silence button; the rest inform."""
        return self in (Severity.CRITICAL, Severity.WARNING)

    @property
    def rank(self) -> int:
        """Worst first."""
        return list(Severity).index(self)


@dataclass(slots=True, frozen=True)
class Alert:
    kind: str
    subject: str
    severity: Severity
    title: str
    body: str
    ts: float
    incident_kind: str | None = None
    incident_id: int | None = None
    opened_at: float | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    alert_id: str = field(default_factory=new_alert_id)
    """Stable for the alert's whole life (stored in the outbox): the receivers' dedupe key."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "subject": self.subject,
            "severity": str(self.severity),
            "title": self.title,
            "body": self.body,
            "ts": self.ts,
            "incident_kind": self.incident_kind,
            "incident_id": self.incident_id,
            "opened_at": self.opened_at,
            "data": dict(self.data),
            "alert_id": self.alert_id,
        }

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> Alert:
        return cls(
            kind=stored["kind"],
            subject=stored["subject"],
            severity=Severity(stored["severity"]),
            title=stored["title"],
            body=stored["body"],
            ts=stored["ts"],
            incident_kind=stored.get("incident_kind"),
            incident_id=stored.get("incident_id"),
            opened_at=stored.get("opened_at"),
            data=stored.get("data") or {},
            alert_id=stored["alert_id"],
        )


@dataclass(slots=True)
class Incident:
    """Something wrong that lasts: opened once, reminded while it lasts, resolved once."""

    id: int
    subject: str
    kind: str
    opened_at: float
    severity: Severity
    state: str
    """What it is now, in a word, for reminders ("kissbot is still *down*")."""
    detail: str
    last_notified_at: float | None = None
    resolved_at: float | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.subject, self.kind)


@dataclass(slots=True, frozen=True)
class Silence:
    id: int
    subject: str | None
    """None: maintenance, everything is silenced."""
    kind: str | None
    """None: every kind of the subject's alerts; else only this incident kind."""
    until: float
    created_at: float
    created_by: str | None
    reason: str | None

    def covers(self, subject: str, incident_kind: str | None, now: float) -> bool:
        if self.until <= now:
            return False
        if self.subject is not None and self.subject != subject:
            return False
        return self.kind is None or self.kind == incident_kind


@dataclass(slots=True)
class OutboxItem:
    """One alert for one sink, until it is delivered (or given up on)."""

    id: int
    created_at: float
    sink: str
    alert: Alert
    attempts: int = 0
    next_attempt_at: float = 0.0
    delivered_at: float | None = None
    last_error: str | None = None
    group_id: str | None = None
