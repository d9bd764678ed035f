"""What an agent's request becomes: its record, as the policy judged it, before anyone decides.

The record keeps what every door shows (a summary, the preview, the data with secrets masked)
and, in memory only, the data as asked (an edit starts from it); how long it may wait and how
many approvers it needs come from its action type's rule."""

from __future__ import annotations

from chatops.config.approvals import ActionType, ApprovalsConfig
from chatops.records.approvals import ApprovalAsk, ApprovalRecord
from chatops.services.approvals.limits import answer_timeout
from chatops.services.approvals.policy import Decision
from chatops.services.approvals.preview import mask_data, preview, summarise


def new_record(
    record_id: int, ask: ApprovalAsk, decision: Decision, config: ApprovalsConfig, now: float
) -> ApprovalRecord:
    kind = ActionType.named(ask.action_type)
    rule = config.rules[kind] if kind is not None else None
    return ApprovalRecord(
        id=record_id,
        key=ask.key,
        agent=ask.agent,
        action_type=ask.action_type,
        summary=summarise(ask.action_type, ask.data),
        preview=preview(ask.data),
        data=mask_data(ask.data),
        live_data=dict(ask.data),
        policy=decision.decision,
        rule=decision.rule,
        reason=decision.reason,
        state="pending",
        requested_at=now,
        expires_at=now + answer_timeout(config, ask),
        approvals_required=rule.approvals_required if rule else 1,
    )
