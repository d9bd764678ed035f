"""What a coding-agent session says on the bus: it waits for its operator, it moved on, it
finished its turn, its turn failed. The alerts (``agent_waiting``, ``agent_finished``) and the
doors that offer a reply subscribe to these; the session's membership itself is an ordinary
bot's (registered, down when its process dies)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SessionWaiting:
    """The session waits for input or a permission (a ``Notification``)."""

    ts: float
    agent: str
    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class SessionResumed:
    """A session that was waiting acts again: whatever said it waits is over."""

    ts: float
    agent: str


@dataclass(frozen=True, slots=True)
class SessionActive:
    """The session started or did something (a tool call, a subagent): it moved on, so a reply
    kept for it from before is stale (:mod:`chatops.services.replies`)."""

    ts: float
    agent: str


@dataclass(frozen=True, slots=True)
class SessionFinished:
    """The session finished its turn (``Stop``): ``message`` is the start of its last answer,
    secrets masked."""

    ts: float
    agent: str
    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class SessionFailed:
    """The session's turn failed (``StopFailure``): ``reason`` is the error's type."""

    ts: float
    agent: str
    kind: str
    reason: str
    message: str
