"""An approval request and what became of it, and the grants that let an agent through."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from chatops.timeutil import to_sqlite

PENDING = "pending"


@dataclass(frozen=True, slots=True)
class ApprovalAsk:
    """An agent asks before it acts. ``key`` is the agent's own id for the request: asked again
    with the same key (after a reconnect or a controller restart), it re-attaches to the
    pending request. ``wait: False`` asks the policy only; ``timeout`` may shorten the rule's."""

    agent: str
    action_type: str
    data: dict[str, Any]
    timeout: float | None = None
    key: str | None = None
    wait: bool = True


@dataclass(slots=True, eq=False)
class ApprovalRecord:
    """One request for approval and what became of it. ``policy`` is what the policy said
    (``accept``, ``confirm``, ``deny``); ``state`` the outcome (``accepted``, ``denied``,
    ``pending``, ``approved``, ``expired``, ``cancelled``); ``via`` who or what decided
    (``policy``, ``grant``, ``discord``, ``cli``, ``timeout``, ``disconnect``, ``restart``).

    An approval may come with an edit: ``edited_data`` is the action's data as approved (the
    whole of it, the edit merged over ``data``), ``edited_by`` who edited, ``edit_comment``
    their note. ``data``, ``edited_data`` and ``diff`` are the audit's copies, secrets masked;
    the unmasked ones (``live_data``, what an edit merges over, and ``updated_data``, what the
    waiting agent is answered with) live in memory only and are never stored."""

    id: int
    agent: str
    action_type: str
    summary: str
    policy: str
    rule: str
    reason: str
    state: str
    requested_at: float
    key: str | None = None
    preview: str = ""
    via: str | None = None
    decided_by: str | None = None
    decision_reason: str | None = None
    approvals_required: int = 1
    approvers: list[str] = field(default_factory=list)
    expires_at: float | None = None
    decided_at: float | None = None
    wait_ms: int | None = None
    message_channel_id: int | None = None
    message_id: int | None = None
    message_closed: bool = True
    data: dict[str, Any] = field(default_factory=dict)
    diff: str = ""
    """What the action changes in a file, as a unified diff (masked): the prompt's and the
    dashboard's view of an edit or of a write over an existing file."""
    edited_data: dict[str, Any] | None = None
    edited_by: str | None = None
    edit_comment: str | None = None
    live_data: dict[str, Any] | None = field(default=None, repr=False)
    updated_data: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def edited(self) -> bool:
        """Approved with an edit: the agent was answered with other data than it asked."""
        return self.edited_data is not None

    @property
    def pending(self) -> bool:
        return self.state == PENDING

    @property
    def approved(self) -> bool:
        return self.state in ("accepted", "approved")

    def row(self) -> tuple[Any, ...]:
        return (
            self.id,
            self.key,
            self.agent,
            self.action_type,
            self.summary,
            self.preview,
            self.policy,
            self.rule,
            self.reason,
            self.state,
            self.via,
            self.decided_by,
            self.decision_reason,
            self.approvals_required,
            json.dumps(self.approvers),
            to_sqlite(self.requested_at),
            self.expires_at,
            None if self.decided_at is None else to_sqlite(self.decided_at),
            self.wait_ms,
            self.message_channel_id,
            self.message_id,
            int(self.message_closed),
            json.dumps(self.data),
            self.diff,
            None if self.edited_data is None else json.dumps(self.edited_data),
            self.edited_by,
            self.edit_comment,
        )


@dataclass(frozen=True, slots=True)
class Grant:
    """Let ``agent``'s ``action_type`` requests through without a prompt, until ``until``
    (None: always, an allow rule)."""

    id: int
    agent: str
    action_type: str
    until: float | None
    created_by: str
    created_at: float
    revoked: bool = False

    def row(self) -> tuple[Any, ...]:
        return (
            self.id,
            self.agent,
            self.action_type,
            self.until,
            self.created_by,
            to_sqlite(self.created_at),
            int(self.revoked),
        )


@dataclass(frozen=True, slots=True)
class ApprovalStats:
    """Counts by outcome (``state``), by the policy's decision and by type (each by outcome),
    and the median time a human took to decide: ``/autoaccept stats``, and as a dict
    ``get_statistics()`` and the orchestrator's ``get_auto_accept_stats``."""

    enabled: bool
    total_actions: int
    by_decision: dict[str, int]
    by_outcome: dict[str, int]
    by_type: dict[str, dict[str, int]]
    decided_by_humans: int
    median_decision_ms: float | None
