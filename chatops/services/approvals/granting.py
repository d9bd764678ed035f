"""Grants from a decision: *Approve for this agent* (for ``approvals.session_minutes``) and
*Always allow* approve a request and let its agent's requests of that type through without a
prompt; :meth:`GrantControls.revoke_grant` ends one. The rules live here, so Discord's buttons
and ``/autoaccept revoke``, ``chatops approvals grant|revoke`` and the socket follow the same:

* a grant is offered only where the request's rule wants a single approver: with more, one
  person's grant would stand in for the others (:meth:`GrantControls.grants_offered`), and
  asking for one there is :class:`~chatops.errors.Refused` before anything is decided;
* a grant comes with an approval of an open request, never alone and never with a deny; it
  answers only what the policy would have sent to a human (a deny is never lifted);
* who may grant is each door's mapping of its caller (Discord's admins; on the socket, the
  operator's narrow door that every decision goes through).
"""

from __future__ import annotations

import logging
from typing import Literal

from chatops.config.approvals import ApprovalsConfig
from chatops.errors import DomainError, NotFound, Refused
from chatops.records.approvals import ApprovalRecord, Grant
from chatops.services.approvals.grants import GrantBook
from chatops.services.operators import OperatorGate
from chatops.wire.peer import Peer
from chatops.wire.protocol import DecideApproval, RevokeGrant, from_domain

log = logging.getLogger(__name__)

GrantLength = Literal["session", "always"]
"""``session``: for ``approvals.session_minutes``; ``always``: until revoked."""


class GrantControls:
    config: ApprovalsConfig
    grants: GrantBook
    records: dict[int, ApprovalRecord]
    _gate: OperatorGate

    def decide(
        self,
        request_id: int,
        approve: bool,
        *,
        by: str,
        identity: str,
        via: str,
        reason: str | None = None,
    ) -> ApprovalRecord:
        raise NotImplementedError  # the approval service's

    def decide_from_socket(self, peer: Peer, msg: DecideApproval) -> ApprovalRecord:
        raise NotImplementedError  # the approval service's

    def grants_offered(self, record: ApprovalRecord) -> bool:
        """May a decision on ``record`` come with a grant? Not where its rule wants more than
        one approver: a grant would let one person stand in for several."""
        return record.approvals_required <= 1

    def grant_seconds(self, length: GrantLength) -> float | None:
        """How long a grant of ``length`` lasts (None: until revoked)."""
        return self.config.session_minutes * 60 if length == "session" else None

    def approve_and_grant(
        self, request_id: int, length: GrantLength, *, by: str, identity: str, via: str
    ) -> tuple[ApprovalRecord, Grant | None]:
        """Approve request ``request_id`` (as :meth:`decide` does) and let its agent's requests
        of its type through for ``length``. Refused, deciding nothing, where no grant is
        offered; no grant when the approval did not settle the request."""
        self._offer(request_id)
        record = self.decide(request_id, True, by=by, identity=identity, via=via)
        return record, self._grant(record, length, by)

    def grant_from_socket(
        self, peer: Peer, msg: DecideApproval, length: GrantLength
    ) -> tuple[ApprovalRecord, Grant | None]:
        """``chatops approvals grant``: :meth:`approve_and_grant` through the same narrow door
        as any decision over the socket (:meth:`decide_from_socket`)."""
        try:
            self._offer(msg.request)
        except DomainError as exc:
            raise from_domain(exc, msg.id) from None
        record = self.decide_from_socket(peer, msg)
        return record, self._grant(record, length, record.decided_by or "cli")

    def revoke_grant(self, grant_id: int, *, by: str) -> Grant:
        """End grant ``grant_id``: its agent's requests ask again. :class:`NotFound` unless
        it is active."""
        grant = self.grants.revoke(grant_id)
        if grant is None:
            raise NotFound(f"No active grant #{grant_id}")
        log.info("grant #%d (%s, %s) revoked by %s", grant.id, grant.agent, grant.action_type, by)
        return grant

    def revoke_from_socket(self, peer: Peer, msg: RevokeGrant) -> Grant:
        """``chatops approvals revoke``: the operator's narrow door (revoking only ever makes
        the policy stricter, so the asking agents' whereabouts do not matter here)."""
        self._gate.require(peer, msg.id)
        who = f"cli (uid {peer.uid}, pid {peer.pid})" if peer.uid is not None else "cli"
        try:
            return self.revoke_grant(msg.grant, by=who)
        except DomainError as exc:
            raise from_domain(exc, msg.id) from None

    def _offer(self, request_id: int) -> None:
        record = self.records.get(request_id)
        if record is not None and record.pending and not self.grants_offered(record):
            raise Refused(
                f"request #{request_id} needs {record.approvals_required} approvers: no grant "
                "is offered, since one person's grant would stand in for the others"
            )

    def _grant(self, record: ApprovalRecord, length: GrantLength, by: str) -> Grant | None:
        if not record.approved:
            return None
        seconds = self.grant_seconds(length)
        return self.grants.add(record.agent, record.action_type, by=by, seconds=seconds)
