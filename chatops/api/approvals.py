"""Approvals over the socket: an agent asks and waits for its answer; an operator at the shell
lists and decides, grants and revokes grants (``chatops approvals``)."""

from __future__ import annotations

import json
from typing import Any

from chatops.api.callers import Callers
from chatops.api.fleet import QUERY_TIMEOUT
from chatops.composition.services import Services
from chatops.records.approvals import ApprovalAsk, ApprovalRecord, Grant
from chatops.services.approvals.preview import MASK
from chatops.services.callers import Caller
from chatops.wire.outcomes import Committed, Handler, Immediate, Later, Outcome
from chatops.wire.peer import Peer
from chatops.wire.protocol import ApprovalRequest, DecideApproval, ListApprovals, RevokeGrant


def answer(record: ApprovalRecord) -> dict[str, Any]:
    """What the agent gets back: ``decision`` is ``approve`` or ``deny`` (``accept`` and
    ``confirm`` are the policy's words, in ``policy``). Approved with an edit, ``updated_data``
    is the action's data to act on instead of what it asked (null otherwise), ``comment`` the
    approver's note."""
    updated = record.updated_data if record.updated_data is not None else record.edited_data
    # After a restart only the masked copy of an edit is left: acting on it would run the mask.
    lost = (
        record.updated_data is None
        and updated is not None
        and MASK in json.dumps(updated, ensure_ascii=False)
    )
    approved = record.approved and not lost
    reason = record.decision_reason or record.reason
    if record.approved and lost:
        reason = "approved with an edit that a controller restart lost (its secrets were masked)"
    return {
        "type": "approval",
        "request": record.id,
        "decision": "approve" if approved else "deny",
        "state": record.state,
        "policy": record.policy,
        "rule": record.rule,
        "reason": reason,
        "decided_by": record.decided_by,
        "via": record.via,
        "wait_ms": record.wait_ms,
        "updated_data": updated if approved else None,
        "comment": record.edit_comment,
    }


def approval_to_dict(record: ApprovalRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "agent": record.agent,
        "action_type": record.action_type,
        "summary": record.summary,
        "policy": record.policy,
        "rule": record.rule,
        "reason": record.reason,
        "state": record.state,
        "via": record.via,
        "decided_by": record.decided_by,
        "decision_reason": record.decision_reason,
        "approvals": len(record.approvers),
        "approvals_required": record.approvals_required,
        "requested_at": record.requested_at,
        "expires_at": record.expires_at,
        "decided_at": record.decided_at,
        "wait_ms": record.wait_ms,
        "data": record.data,
        "diff": record.diff,
        "edited": record.edited,
        "edited_data": record.edited_data,
        "edited_by": record.edited_by,
        "edit_comment": record.edit_comment,
    }


def grant_to_dict(grant: Grant) -> dict[str, Any]:
    return {
        "id": grant.id,
        "agent": grant.agent,
        "action_type": grant.action_type,
        "until": grant.until,
        "created_by": grant.created_by,
        "created_at": grant.created_at,
    }


def approval_handlers(services: Services, callers: Callers) -> dict[type, Handler]:
    approvals = services.approvals

    async def submitted(peer: Peer, ask: ApprovalAsk) -> dict[str, Any]:
        return answer(await approvals.submit(callers.of(peer), ask))

    def approval_request(peer: Peer, msg: ApprovalRequest) -> Outcome:
        ask = ApprovalAsk(msg.agent, msg.action_type, msg.data, msg.timeout, msg.key, msg.wait)
        deadline = approvals.admit(callers.of(peer), ask)
        return Later(submitted(peer, ask), deadline)

    async def recent_approvals(msg: ListApprovals) -> dict[str, Any]:
        records = await approvals.controls.get_recent_actions(msg.limit)
        return {"approvals": [approval_to_dict(r) for r in records]}

    def list_approvals(peer: Peer, msg: ListApprovals) -> Outcome:
        if not msg.pending_only:
            return Later(recent_approvals(msg), QUERY_TIMEOUT)
        pending = approvals.pending()[: msg.limit]
        return Immediate({"approvals": [approval_to_dict(r) for r in pending]})

    async def edited(caller: Caller, msg: DecideApproval, edit: dict[str, Any]) -> dict[str, Any]:
        editing = approvals.editing
        return answer(
            await editing.approve_edited_as_operator(caller, msg.request, edit, msg.comment)
        )

    def decide_approval(peer: Peer, msg: DecideApproval) -> Outcome:
        caller = callers.of(peer)
        if msg.edit is not None:
            return Later(edited(caller, msg, msg.edit), QUERY_TIMEOUT)
        if msg.grant is None:
            approve = msg.decision == "approve"
            return Committed(
                answer(approvals.decide_as_operator(caller, msg.request, approve, msg.reason))
            )
        record, grant = approvals.granting.grant_as_operator(
            caller, msg.request, msg.grant, msg.reason
        )
        granted = None if grant is None else grant_to_dict(grant)
        return Committed({**answer(record), "grant": granted})

    def revoke_grant(peer: Peer, msg: RevokeGrant) -> Outcome:
        grant = approvals.granting.revoke_as_operator(callers.of(peer), msg.grant)
        return Committed({"grant": grant_to_dict(grant)})

    return {
        ApprovalRequest: approval_request,
        ListApprovals: list_approvals,
        DecideApproval: decide_approval,
        RevokeGrant: revoke_grant,
    }
