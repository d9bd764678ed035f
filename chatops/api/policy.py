"""The approval policy over the socket: an operator at the shell turns auto-accept on or off and
changes a rule (``chatops policy toggle|rule``) through the operator's narrow door the rule
controls keep; anyone the socket admits reads the statistics (``chatops approvals stats``)."""

from __future__ import annotations

from chatops.api.callers import Callers
from chatops.api.fleet import QUERY_TIMEOUT
from chatops.composition.services import Services
from chatops.wire.outcomes import Committed, Handler, Later, Outcome
from chatops.wire.peer import Peer
from chatops.wire.protocol import ApprovalStatsRequest, PolicyRule, PolicyToggle


def policy_handlers(services: Services, callers: Callers) -> dict[type, Handler]:
    controls = services.approvals.controls

    def toggle(peer: Peer, msg: PolicyToggle) -> Outcome:
        return Committed({"enabled": controls.toggle_as_operator(callers.of(peer), msg.enabled)})

    def rule(peer: Peer, msg: PolicyRule) -> Outcome:
        changed = controls.update_rule_as_operator(callers.of(peer), msg.action_type, msg.changes)
        return Committed({"action_type": msg.action_type, "rule": changed.model_dump(mode="json")})

    def stats(peer: Peer, msg: ApprovalStatsRequest) -> Outcome:
        return Later(controls.get_statistics(msg.days), QUERY_TIMEOUT)

    return {PolicyToggle: toggle, PolicyRule: rule, ApprovalStatsRequest: stats}
