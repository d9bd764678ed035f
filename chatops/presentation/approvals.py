"""What an approval request's outcome reads as, in Discord and in a terminal alike."""

from __future__ import annotations

from chatops.presentation.formatting import describe_duration, noun
from chatops.records.approvals import ApprovalRecord

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
    """``✅ Approved by alice after 12s``; pending: how many approvals it has."""
    if record.pending:
        required = record.approvals_required
        return f"⏳ Waiting · {len(record.approvers)}/{required} {noun(required, 'approval')}"
    verb = _VERB.get(record.state, record.state)
    if record.via == "restart":
        verb = "Denied: the controller restarted and the agent did not come back"
    by = f" by {record.decided_by}" if record.decided_by and record.via != "grant" else ""
    if record.via == "grant":
        by = f" ({record.decided_by})"
    took = f" after {describe_duration((record.wait_ms or 0) / 1000)}" if record.wait_ms else ""
    return f"{STATE_EMOJI.get(record.state, '•')} {verb}{by}{took}"
