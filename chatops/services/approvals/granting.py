"""Grants from a decision: *Approve for this agent* (for ``approvals.session_minutes``) and
*Always allow* approve a request and let its agent's requests of that type through without a
prompt; :meth:`Granting.revoke_grant` ends one. The rules live here, so Discord's buttons and
``/autoaccept revoke``, ``chatops approvals grant|revoke`` and the socket follow the same:

* a grant is offered only where the request's rule wants a single approver: with more, one
  person's grant would stand in for the others (:meth:`Granting.grants_offered`), and asking
  for one there is :class:`~chatops.services.errors.Refused` before anything is decided;
* a grant comes with an approval of an open request, never alone and never with a deny; it
  answers only what the policy would have sent to a human (a deny is never lifted);
* who may grant is each door's mapping of its caller (Discord's admins; on the socket, the
  operator's narrow door that every decision goes through).

:class:`Granting` is the approval service's collaborator (``approvals.granting``), as
:class:`~chatops.services.approvals.controls.RuleControls` is (``approvals.controls``): it
decides through the service's own :class:`Deciding` calls and keeps the grants in the
:class:`~chatops.services.approvals.grants.GrantBook`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Literal, Protocol

from chatops.config.approvals import ApprovalsConfig
from chatops.records.approvals import ApprovalRecord, Grant
from chatops.services.approvals.grants import GrantBook
from chatops.services.callers import Caller
from chatops.services.errors import NotFound, Refused
from chatops.services.operators import OperatorGate, operator_name

log = logging.getLogger(__name__)

GrantLength = Literal["session", "always"]
"""``session``: for ``approvals.session_minutes``; ``always``: until revoked."""


class Deciding(Protocol):
    """What granting needs of the approval service: its open requests and its two decisions."""

    @property
    def records(self) -> Mapping[int, ApprovalRecord]: ...

    def decide(
        self,
        request_id: int,
        approve: bool,
        *,
        by: str,
        identity: str,
        via: str,
        reason: str | None = None,
    ) -> ApprovalRecord: ...

    def decide_as_operator(
        self, caller: Caller, request_id: int, approve: bool, reason: str | None = None
    ) -> ApprovalRecord: ...


class Granting:
    def __init__(
        self, config: ApprovalsConfig, book: GrantBook, gate: OperatorGate, decisions: Deciding
    ) -> None:
        self._config = config
        """The live configuration (``session_minutes``), shared with the service."""
        self._book = book
        self._gate = gate
        self._decisions = decisions

    def grants_offered(self, record: ApprovalRecord) -> bool:
        """May a decision on ``record`` come with a grant? Not where its rule wants more than
        one approver: a grant would let one person stand in for several."""
        return record.approvals_required <= 1

    def grant_seconds(self, length: GrantLength) -> float | None:
        """How long a grant of ``length`` lasts (None: until revoked)."""
        return self._config.session_minutes * 60 if length == "session" else None

    def approve_and_grant(
        self, request_id: int, length: GrantLength, *, by: str, identity: str, via: str
    ) -> tuple[ApprovalRecord, Grant | None]:
        """Approve request ``request_id`` (as the service's ``decide`` does) and let its
        agent's requests of its type through for ``length``. Refused, deciding nothing, where
        no grant is offered; no grant when the approval did not settle the request."""
        self._offer(request_id)
        record = self._decisions.decide(request_id, True, by=by, identity=identity, via=via)
        return record, self._grant(record, length, by)

    def grant_as_operator(
        self, caller: Caller, request_id: int, length: GrantLength, reason: str | None = None
    ) -> tuple[ApprovalRecord, Grant | None]:
        """``chatops approvals grant``: :meth:`approve_and_grant` through the same narrow door
        as any decision from a shell (the service's ``decide_as_operator``)."""
        self._offer(request_id)
        record = self._decisions.decide_as_operator(caller, request_id, True, reason)
        return record, self._grant(record, length, record.decided_by or operator_name(caller))

    def revoke_grant(self, grant_id: int, *, by: str) -> Grant:
        """End grant ``grant_id``: its agent's requests ask again. :class:`NotFound` unless
        it is active."""
        grant = self._book.revoke(grant_id)
        if grant is None:
            raise NotFound(f"No active grant #{grant_id}")
        log.info("grant #%d (%s, %s) revoked by %s", grant.id, grant.agent, grant.action_type, by)
        return grant

    def revoke_as_operator(self, caller: Caller, grant_id: int) -> Grant:
        """``chatops approvals revoke``: the operator's narrow door (revoking only ever makes
        the policy stricter, so the asking agents' whereabouts do not matter here)."""
        self._gate.require(caller)
        return self.revoke_grant(grant_id, by=operator_name(caller))

    def _offer(self, request_id: int) -> None:
        record = self._decisions.records.get(request_id)
        if record is not None and record.pending and not self.grants_offered(record):
            raise Refused(
                f"request #{request_id} needs {record.approvals_required} approvers: no grant "
                "is offered, since one person's grant would stand in for the others"
            )

    def _grant(self, record: ApprovalRecord, length: GrantLength, by: str) -> Grant | None:
        if not record.approved:
            return None
        return self._book.add(
            record.agent, record.action_type, by=by, seconds=self.grant_seconds(length)
        )
