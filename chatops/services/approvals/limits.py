"""How long a human has to answer a request, and how many requests may wait for one: the
approval rules' bounds, read from the config and the open records."""

from __future__ import annotations

from collections.abc import Iterable

from chatops.config.approvals import ActionType, ApprovalsConfig
from chatops.records.approvals import ApprovalAsk, ApprovalRecord


def answer_timeout(config: ApprovalsConfig, ask: ApprovalAsk) -> float:
    """How long a human has: the rule's timeout, or less if the agent asks for less (an
    unknown action type is denied at once)."""
    kind = ActionType.named(ask.action_type)
    if kind is None:
        return 0.0
    limit = config.rules[kind].timeout
    return min(ask.timeout or limit, limit)


def pending_limit(
    config: ApprovalsConfig, records: Iterable[ApprovalRecord], agent: str
) -> str | None:
    """Why no more prompts may open now (one agent's limit, or everyone's), or None."""
    pending = [r for r in records if r.pending]
    if len(pending) >= config.max_pending:
        return f"{config.max_pending} requests are already waiting for a human"
    if sum(1 for r in pending if r.agent == agent) >= config.max_pending_per_agent:
        return f"{agent} already has {config.max_pending_per_agent} open requests"
    return None
