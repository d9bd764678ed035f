"""What an approval request's outcome, and a grant, read as, in Discord and in a terminal
alike. ``name`` renders an agent's name for where it is shown (bold and escaped in Discord,
escaped in a terminal)."""

from __future__ import annotations

from collections.abc import Callable

from chatops.presentation.formatting import describe_duration, noun
from chatops.records.approvals import ApprovalRecord, Grant

STATE_EMOJI = {
    "pending": "⏳",
    "accepted": "✅",
    "approved": "✅",
    "checked": "❔",
    "denied": "⛔",
    "expired": "⌛",
    "cancelled": "🚫",
}
_VERB = {
    "accepted": "Accepted by policy",
    "approved": "Approved",
    "checked": "Checked (not asked)",
    "denied": "Denied",
    "expired": "Timed out: denied",
    "cancelled": "Cancelled: the agent disconnected",
}


def outcome_line(record: ApprovalRecord) -> str:
    """``✅ Approved by alice after 12s`` (``Approved with edit by alice`` when the approver
    changed the action first); pending: how many approvals it has."""
    if record.pending:
        required = record.approvals_required
        return f"⏳ Waiting · {len(record.approvers)}/{required} {noun(required, 'approval')}"
    verb = _VERB.get(record.state, record.state)
    if record.edited and record.approved:
        verb = "Approved with edit"
    if record.via == "restart":
        verb = "Denied: the controller restarted and the agent did not come back"
    by = f" by {record.decided_by}" if record.decided_by and record.via != "grant" else ""
    if record.via == "grant":
        by = f" ({record.decided_by})"
    took = f" after {describe_duration((record.wait_ms or 0) / 1000)}" if record.wait_ms else ""
    return f"{STATE_EMOJI.get(record.state, '•')} {verb}{by}{took}"


def granted_text(grant: Grant, now: float, name: Callable[[str], str]) -> str:
    """``Grant #3: coder's terminal_command requests pass without asking for 30m 0s``."""
    until = (
        "until revoked" if grant.until is None else f"for {describe_duration(grant.until - now)}"
    )
    requests = f"{name(grant.agent)}'s {grant.action_type} requests"
    return f"Grant #{grant.id}: {requests} pass without asking {until}."


def revoked_text(grant: Grant, name: Callable[[str], str]) -> str:
    """``Grant #3 removed: coder's terminal_command requests ask again.``"""
    return (
        f"Grant #{grant.id} removed: {name(grant.agent)}'s {grant.action_type} requests ask again."
    )
