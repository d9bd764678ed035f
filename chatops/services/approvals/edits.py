"""Approving with an edit: an approver changes what the agent asked (a safer command, a fixed
line of a file) and approves that instead; the waiting agent is answered with the edited data
(``updated_data``) and acts on it.

The rules, whatever the door (the CLI's ``approve --edit``, Discord's *Edit and approve*, the
web dashboard):

* only an approver edits, through the same checks as approving (each door's mapping of its
  caller; on the socket the operator's narrow door, :meth:`ApprovalService.operator_may_decide`);
* the edited data is judged by the policy again: what it denies is refused and the request stays
  pending, untouched. A ``confirm`` is fine (the approver approving is that confirmation), so an
  edit never turns a deny into an allow — a denied request is never pending in the first place;
* an edit is offered only where the approval settles the request alone: not where the rule wants
  several approvers (the others would approve something they never saw), nor for a request the
  hub holds for an edge (the edge's answer carries no data to act on);
* what cannot be edited faithfully is refused rather than guessed: the agent's ``cwd`` (where it
  stands, not what it asked), a content of which only the start was sent, a value still holding
  a masked secret (``••••••``: what a prompt shows is masked, and the agent would receive it).

:class:`Editing` is the approval service's collaborator (``approvals.editing``), as
:class:`~chatops.services.approvals.granting.Granting` is: it re-checks through the service's
own policy and decides through its ``decide``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, Protocol

from chatops.records.approvals import ApprovalRecord
from chatops.services.approvals.events import ApprovalError, NoSuchApproval, outcome_text
from chatops.services.approvals.granting import Deciding
from chatops.services.approvals.policy import Decision
from chatops.services.approvals.preview import MASK, mask_data, mask_secrets
from chatops.services.callers import Caller
from chatops.services.errors import DomainError, Invalid, Refused
from chatops.services.operators import operator_name

log = logging.getLogger(__name__)

RELAYED_PREFIX = "edge:"
"""The key of a request the hub holds for an edge (the hub's ``EDGE_KEY``; a test holds the two
together): its answer goes back as a state, with no data an edit could ride on."""
FIXED_FIELDS = frozenset({"cwd"})
"""Fields that say where the agent stands, not what it asked: no edit changes them."""
MAX_EDIT_BYTES = 48 * 1024
"""The edited data is held to the request's own cap (the protocol's ``MAX_ACTION_DATA_BYTES``)."""
MAIN_FIELDS = ("command", "new_string", "content")
"""The one field a single-box editor (Discord's modal) edits, the first the data has."""


class Checking(Deciding, Protocol):
    """What editing needs of the approval service: granting's (its records, its decisions), its
    policy, and the operator's door."""

    async def evaluate(self, action_type: str, data: dict[str, Any]) -> Decision: ...

    def operator_may_decide(self, caller: Caller, request_id: int) -> None: ...


def main_field(data: Mapping[str, Any]) -> str | None:
    """The field a single-box editor edits: the command, an edit's new text, or the content."""
    return next((name for name in MAIN_FIELDS if isinstance(data.get(name), str)), None)


def merge_edit(data: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``changes`` over ``data``. An Edit-style request carries its new text twice (``new_string``
    for the tool, ``content`` for the policy's checks), so changing one changes both; a changed
    content's ``file_size`` is its own."""
    merged = {**data, **changes}
    twins = "new_string" in data and data.get("new_string") == data.get("content")
    if twins and "new_string" in changes and "content" not in changes:
        merged["content"] = changes["new_string"]
    elif twins and "content" in changes and "new_string" not in changes:
        merged["new_string"] = changes["content"]
    content = merged.get("content")
    if "file_size" in data and "file_size" not in changes and content != data.get("content"):
        merged["file_size"] = len(content.encode()) if isinstance(content, str) else 0
    return merged


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _partial(data: Mapping[str, Any]) -> str | None:
    """Why the content cannot be edited: only its start came with the request."""
    content, size = data.get("content"), data.get("file_size")
    if isinstance(content, str) and isinstance(size, int | float) and size > len(content.encode()):
        return f"only the first {len(content.encode()):,} of its {size:,.0f} bytes came with it"
    return None


class Editing:
    def __init__(self, service: Checking) -> None:
        self._service = service

    def refusal(self, record: ApprovalRecord) -> str | None:
        """Why ``record`` cannot be approved with an edit (None: it can). Doors ask it to offer
        the edit at all; :meth:`approve_edited` raises it."""
        if record.approvals_required > 1:
            return (
                f"request #{record.id} needs {record.approvals_required} approvers: an edit would "
                "have the others approve what they never saw"
            )
        if (record.key or "").startswith(RELAYED_PREFIX):
            return f"request #{record.id} came from another host, which cannot take an edit back"
        return None

    def prefill(self, record: ApprovalRecord) -> tuple[str, str] | None:
        """(field, its current value with secrets masked) for a single-box editor, or None when
        the request has no field it edits."""
        data = self.current_data(record)
        name = main_field(data)
        return None if name is None else (name, mask_secrets(str(data[name])))

    @staticmethod
    def current_data(record: ApprovalRecord) -> dict[str, Any]:
        """The data an edit merges over: as asked (unmasked) while the controller has it in
        memory, the audit's masked copy after a restart."""
        return dict(record.live_data if record.live_data is not None else record.data)

    async def approve_edited(
        self,
        request_id: int,
        changes: Mapping[str, Any],
        *,
        by: str,
        identity: str,
        via: str,
        comment: str | None = None,
        caller: Caller | None = None,
    ) -> ApprovalRecord:
        """Approve request ``request_id`` with ``changes`` merged over its data, once the
        policy has judged the result. Refused (:class:`Refused`, :class:`Invalid`, or the
        service's own decision errors) with nothing changed: the request stays pending.
        ``caller``: an operator at the socket, checked before and after the policy's look."""
        record = self._open(request_id, caller)
        original = self.current_data(record)
        merged = merge_edit(original, changes)
        self._check(record, original, dict(changes), merged)
        decision = await self._service.evaluate(record.action_type, merged)
        if decision.decision == "deny":
            raise Refused(
                f"edit refused: the policy denies it ({decision.reason}); "
                f"request #{request_id} is still pending, unchanged"
            )
        record = self._open(request_id, caller)  # decided while the policy looked?
        record.edited_data, record.updated_data = mask_data(merged), merged
        record.edited_by, record.edit_comment = by, comment
        reason = f"approved with an edit by {by}" + (f": {comment}" if comment else "")
        try:
            record = self._service.decide(
                request_id, True, by=by, identity=identity, via=via, reason=reason
            )
        except DomainError:
            record.edited_data = record.updated_data = None
            record.edited_by = record.edit_comment = None
            raise
        log.info("approval #%d approved with an edit by %s", request_id, by)
        return record

    async def approve_edited_as_operator(
        self,
        caller: Caller,
        request_id: int,
        changes: Mapping[str, Any],
        comment: str | None = None,
    ) -> ApprovalRecord:
        """``chatops approvals approve ID --edit JSON``: :meth:`approve_edited` through the
        operator's narrow door, as ``approve`` goes (the service's ``decide_as_operator``)."""
        return await self.approve_edited(
            request_id,
            changes,
            by=operator_name(caller),
            identity=f"uid:{caller.uid}",
            via="cli",
            comment=comment,
            caller=caller,
        )

    def _open(self, request_id: int, caller: Caller | None) -> ApprovalRecord:
        if caller is not None:
            self._service.operator_may_decide(caller, request_id)
        record = self._service.records.get(request_id)
        if record is None:
            raise NoSuchApproval(f"no open approval request #{request_id}")
        if not record.pending:
            raise ApprovalError(f"request #{request_id} was already {outcome_text(record)}")
        refusal = self.refusal(record)
        if refusal is not None:
            raise Refused(f"no edit: {refusal}; approve or deny it as it is")
        return record

    def _check(
        self,
        record: ApprovalRecord,
        original: dict[str, Any],
        changes: dict[str, Any],
        merged: dict[str, Any],
    ) -> None:
        if not changes:
            raise Invalid("the edit is empty: give at least one field of the action's data")
        fixed = sorted(FIXED_FIELDS & changes.keys())
        if any(original.get(name) != changes[name] for name in fixed):
            raise Invalid(f"{', '.join(fixed)} says where the agent stands: it cannot be edited")
        if merged == original:
            raise Invalid(f"the edit changes nothing in request #{record.id}: approve it as it is")
        partial = _partial(original)
        if partial is not None:
            # Any edit (a path alone too) is handed back whole as the tool's input, and the
            # agent would then write the start it sent in place of its whole content.
            raise Refused(f"request #{record.id} cannot be edited: {partial}")
        if any(MASK in text for text in _strings(changes)):
            raise Invalid(
                f"the edit holds a masked secret ({MASK}), which the agent would receive as "
                "is: type the value itself"
            )
        if any(MASK in text for text in _strings(merged)):
            raise Refused(
                f"request #{record.id}'s data was kept with its secrets masked ({MASK}) since a "
                "restart: give every field that holds one, or approve it as it is"
            )
        if len(json.dumps(merged).encode()) > MAX_EDIT_BYTES:
            raise Invalid(f"the edited data is over {MAX_EDIT_BYTES // 1024} kB")
