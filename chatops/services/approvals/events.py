"""What the approval service tells the rest of the controller: the events it publishes on the
bus, the alert a pending request raises, the error a refused decision raises, and the answer an
agent gets (its wire shape)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chatops.errors import DomainError
from chatops.records.alerts import Alert, Severity
from chatops.records.approvals import ApprovalRecord

UNATTENDED = "unattended"
"""The ``via`` of a request no approver could be told of (``approvals.unattended: answer``)."""
NOBODY_TOLD = (
    "no approver can be told of it (no Discord approval channel, no webhook; "
    "approvals.unattended: wait holds it for chatops approvals)"
)


@dataclass(frozen=True, slots=True)
class ApprovalRequested:
    record: ApprovalRecord


@dataclass(frozen=True, slots=True)
class ApprovalUpdated:
    """An approver was counted, or the request was resolved (see ``record.pending``)."""

    record: ApprovalRecord


class ApprovalError(DomainError):
    """A decision that cannot be taken (no such request, already decided, counted already)."""


def answer(record: ApprovalRecord) -> dict[str, Any]:
    """What the agent gets back: ``decision`` is ``approve`` or ``deny`` (``accept`` and
    ``confirm`` are the policy's words, in ``policy``)."""
    return {
        "type": "approval",
        "request": record.id,
        "decision": "approve" if record.approved else "deny",
        "state": record.state,
        "policy": record.policy,
        "rule": record.rule,
        "reason": record.decision_reason or record.reason,
        "decided_by": record.decided_by,
        "via": record.via,
        "wait_ms": record.wait_ms,
    }


def outcome_text(record: ApprovalRecord) -> str:
    """``denied by alice``: what became of a request, for a refusal that names it."""
    by = f" by {record.decided_by}" if record.decided_by else ""
    return f"{record.state}{by}"


def requested_alert(record: ApprovalRecord) -> Alert:
    """The webhooks' announcement of a pending request: headless approvers learn its id here."""
    return Alert(
        kind="approval_requested",
        subject=record.agent,
        severity=Severity.WARNING,
        title=f"⏳ {record.agent} asks to run a {record.action_type}",
        body=f"#{record.id}: {record.summary}\n{record.reason} (rule {record.rule})",
        ts=record.requested_at,
        data={
            "request": record.id,
            "action_type": record.action_type,
            "expires_at": record.expires_at,
        },
    )
