"""What the approval service tells the rest of the controller: the events it publishes on the
bus, the alert a pending request raises, and the errors a refused decision raises."""

from __future__ import annotations

from dataclasses import dataclass

from chatops.records.alerts import Alert, Severity
from chatops.records.approvals import ApprovalRecord
from chatops.services.errors import Conflict, NotFound

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


class ApprovalError(Conflict):
    """A decision that cannot be taken (already decided, counted already, no such request)."""


class NoSuchApproval(NotFound, ApprovalError):
    """No open request has that id."""


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
