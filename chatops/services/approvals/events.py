"""What the approval service tells the rest of the controller: the events it publishes on the
bus (a pending request's becomes a prompt, and the webhooks' alert) and the errors a refused
decision raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatops.records.approvals import ApprovalRecord
from chatops.services.errors import Conflict, NotFound

UNATTENDED = "unattended"
"""The ``via`` of a request no approver could be told of (``approvals.unattended: answer``)."""
NOBODY_TOLD = (
    "no approver can be told of it (no Discord approval channel, no webhook, no web dashboard; "
    "approvals.unattended: wait holds it for chatops approvals)"
)


@dataclass(frozen=True, slots=True)
class ApprovalRequested:
    record: ApprovalRecord
    data: dict[str, Any] = field(default_factory=dict)
    """What the agent asked with: an edge hands it on to its hub, whose approvers decide."""


@dataclass(frozen=True, slots=True)
class ApprovalUpdated:
    """An approver was counted, or the request was resolved (see ``record.pending``)."""

    record: ApprovalRecord


@dataclass(frozen=True, slots=True)
class ApprovalSettled:
    """A request has its outcome, whoever gave it (the policy, a grant, an approver, a
    timeout); ``asked``: it waited for a human first (its ``wait_ms`` is a decision time)."""

    record: ApprovalRecord
    asked: bool


class ApprovalError(Conflict):
    """A decision that cannot be taken (already decided, counted already, no such request)."""


class NoSuchApproval(NotFound, ApprovalError):
    """No open request has that id."""


def outcome_text(record: ApprovalRecord) -> str:
    """``denied by alice``: what became of a request, for a refusal that names it."""
    by = f" by {record.decided_by}" if record.decided_by else ""
    return f"{record.state}{by}"
