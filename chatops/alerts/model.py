"""What an alert says, independent of where it is delivered."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


def new_alert_id() -> str:
    """20 hex characters: unique, and short enough for a Discord nonce (25 at most)."""
    return uuid.uuid4().hex[:20]


class AlertKind(StrEnum):
    DOWN = "down"
    STALE = "stale"
    RECOVERED = "recovered"
    REMINDER = "reminder"
    FLAPPING = "flapping"
    STABLE = "stable"


PROBLEM_KINDS = frozenset({AlertKind.DOWN, AlertKind.STALE, AlertKind.REMINDER, AlertKind.FLAPPING})


@dataclass(slots=True, frozen=True)
class Alert:
    kind: AlertKind
    channel: str
    status: str
    detail: str
    ts: float
    incident_id: int | None = None
    opened_at: float | None = None
    downtime: float | None = None
    alert_id: str = field(default_factory=new_alert_id)
    """Stable for the alert's whole life (stored in the outbox): the receivers' dedupe key."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = str(self.kind)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**{**known, "kind": AlertKind(data["kind"])})
