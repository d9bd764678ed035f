"""Plain records shared by services, the store and the front ends (socket, CLI, cogs)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal


class BotStatus(StrEnum):
    ONLINE = "online"
    LATE = "late"
    STALE = "stale"
    OFFLINE = "offline"
    DOWN = "down"
    UNREACHABLE = "unreachable"
    """Its host's edge stopped answering the hub: what the bot is doing is not known here."""


ALIVE_STATUSES = frozenset({BotStatus.ONLINE, BotStatus.LATE, BotStatus.STALE})
UP_STATUSES = frozenset({BotStatus.ONLINE, BotStatus.LATE})
"""Its heartbeats arrive (on time or a little late): ``chatops_bot_up``, and flapping's "up"."""


@dataclass(slots=True)
class BotState:
    channel: str
    pid: int
    status: BotStatus
    registered_at: float
    last_heartbeat: float
    status_changed_at: float
    features: dict[str, Any] = field(default_factory=dict)
    host: str | None = None
    rss_mb: float | None = None
    cpu_pct: float | None = None
    uid: int | None = None
    """The registering peer's uid, as the kernel reported it (``SO_PEERCRED``)."""
    features_json: str = "{}"
    """``features`` as stored in ``features_json`` columns; kept in step by :meth:`set_features`
    because every heartbeat row carries it."""

    def set_features(self, features: dict[str, Any]) -> None:
        self.features = dict(features)
        self.features_json = json.dumps(self.features, separators=(",", ":"), sort_keys=True)

    @property
    def active_features(self) -> list[str]:
        return sorted(name for name, on in self.features.items() if on)


SESSION_FEATURE = "session"
"""The feature a coding-agent session registers with (its kind: ``claude-code``, ``codex``):
its process is its life, so silence never makes it late or stale."""


SESSIONS_WITHOUT_END = frozenset({"codex"})
"""Session kinds whose agent has no hook for its end (Codex has no ``SessionEnd``): their
process's exit is how they end, not a death to alert on."""


def is_session(bot: BotState) -> bool:
    return bool(bot.features.get(SESSION_FEATURE))


@dataclass(slots=True)
class SessionInfo:
    """What a coding-agent session's hooks and status line tell about it: where it works, with
    which model, what it costs so far and how full its context is. ``waiting`` is set while it
    waits for its operator (a question, a permission) and cleared when it moves on."""

    session_id: str | None = None
    cwd: str | None = None
    model: str | None = None
    cost_usd: float | None = None
    context_pct: float | None = None
    waiting: bool = False


@dataclass(slots=True)
class AgentState:
    name: str
    status: str
    updated_at: float
    agent_type: str | None = None
    channel: str | None = None
    current_task: str | None = None
    error_message: str | None = None
    tasks_completed: int = 0
    tasks_failed: int = 0
    owner_pid: int | None = None
    """The process that reports for this agent (see :mod:`chatops.services.ownership`)."""
    session: SessionInfo | None = None
    """A coding-agent session's facts (Claude Code, Codex); None for an agent that reports
    through the client library."""

    @property
    def success_rate(self) -> float | None:
        total = self.tasks_completed + self.tasks_failed
        return None if total == 0 else self.tasks_completed / total


@dataclass(slots=True, frozen=True)
class FleetEvent:
    """One status transition or notable fact about a bot; published on the bus and stored."""

    ts: float
    channel: str
    kind: str
    old_status: str | None = None
    new_status: str | None = None
    detail: str | None = None


RestartPhase = Literal["restarting", "restarted", "not_back", "not_restarted"]


@dataclass(slots=True, frozen=True)
class RestartNotice:
    """A restart chatops set off itself (by hand, or the restart policy's), on the bus.

    From ``restarting`` until its end the bot's stop is expected: it pages nobody. The end says
    whether the bot came back as a new process (``restarted``), stopped and did not come back
    within the restart's wait (``not_back``), or could not be restarted at all
    (``not_restarted``). Only then does a stop seen meanwhile become a down incident."""

    ts: float
    channel: str
    phase: RestartPhase
    detail: str = ""
    """``restarting``: who asked; the end: what happened, as the report says it."""
    expect_for: float = 0.0
    """``restarting``: the longest the restart can take; a stop is expected no longer."""
    announce: bool = False
    """Tell the alert channel when it is back (a restart someone asked for; the policy's own
    restarts end the incident of the crash that caused them instead)."""


@dataclass(slots=True, frozen=True)
class MetricPoint:
    ts: float
    rss_mb: float
    cpu_pct: float


@dataclass(slots=True, frozen=True)
class BotDetail:
    """Everything ``/status bot:<name>`` shows, from one service call."""

    bot: BotState
    agents: list[AgentState]
    events: list[FleetEvent]
    series: list[MetricPoint]


@dataclass(slots=True, frozen=True)
class StatusReset:
    """What a status reset did (``/recover reset-status``, the ``reset_status_cache`` request)."""

    reloaded: int
    """Bots without a live connection, read again from the database."""
    asked_to_register: int
    """Connected bots asked to register again."""
