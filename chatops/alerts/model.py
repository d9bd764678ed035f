"""What an alert says, independent of where it is delivered."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


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

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = str(self.kind)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        return cls(**{**data, "kind": AlertKind(data["kind"])})
