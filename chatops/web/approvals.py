"""The approvals page: pending requests with the preview Discord shows (secrets masked when the
request was made) and the whole diff of a file change, Approve and Deny for approvers, and the
latest decisions. A decision here is the service's ``decide``, as a click on the Discord prompt
is (which then shows it too).

*Edit and approve* (approvers) is a page of its own, ``/approvals/<id>/edit``: the request, its
whole diff, and one box prefilled with the field Discord's modal edits (the command, the new
text; :func:`~chatops.services.approvals.edits.main_field`). It is not in the live list, whose
every refresh would wipe what is being typed. The edit goes to the service's
``editing.approve_edited``, which judges it by the policy again: what the policy denies is shown
on the same page, with the request still pending."""

from __future__ import annotations

from aiohttp import web

from chatops.composition.services import Services
from chatops.records.approvals import ApprovalRecord
from chatops.records.web import Role, WebSession
from chatops.services.errors import DomainError, NotFound
from chatops.web.auth import ERROR_STATUS, SERVICES_KEY, check_change, csrf, sessions_of, viewer
from chatops.web.render import page

RECENT = 30
MAX_COMMENT = 500


def identity_of(me: WebSession) -> str:
    """Who decides, as the approval service counts approvers: the Discord user a web session
    was opened for (so one person is not two approvers), else the web person."""
    return str(me.discord_id) if me.discord_id is not None else f"web:{me.person}"


def editable(services: Services, record: ApprovalRecord) -> bool:
    """Whether ``record`` can be approved with an edit in one box (the service's own rules)."""
    editing = services.approvals.editing
    return editing.refusal(record) is None and editing.prefill(record) is not None


async def approvals_page(request: web.Request) -> web.Response:
    services: Services = request.app[SERVICES_KEY]
    me = viewer(request)
    pending = sorted(services.approvals.pending(), key=lambda record: record.id)
    stored = await services.approvals.controls.get_recent_actions(RECENT)
    # A decision just taken may not be committed yet: the service's own records have it.
    by_id = {record.id: record for record in stored}
    by_id.update((r.id, r) for r in services.approvals.records.values() if not r.pending)
    recent = sorted(by_id.values(), key=lambda record: record.id, reverse=True)[:RECENT]
    can_decide = me.role.allows(Role.APPROVER)
    return page(
        "approvals_live.html" if request.query.get("part") == "live" else "approvals.html",
        me=me,
        csrf=csrf(request),
        pending=pending,
        recent=[record for record in recent if not record.pending],
        can_decide=can_decide,
        can_edit={r.id for r in pending if can_decide and editable(services, r)},
        now=services.clock(),
    )


def _request_id(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound(text="no such request") from None


async def decide(request: web.Request) -> web.StreamResponse:
    """``POST /approvals/<id>``: ``decision`` approve or deny, an optional ``reason``."""
    form = await check_change(request, Role.APPROVER)
    services: Services = request.app[SERVICES_KEY]
    me = viewer(request)
    request_id = _request_id(request)
    decision = form.get("decision")
    if decision not in ("approve", "deny"):
        raise web.HTTPBadRequest(text="decision is approve or deny")
    services.approvals.decide(
        request_id,
        decision == "approve",
        by=me.person,
        identity=identity_of(me),
        via="web",
        reason=(form.get("reason") or "").strip()[:500] or None,
    )
    raise web.HTTPSeeOther("/approvals")


def _pending(services: Services, request_id: int) -> ApprovalRecord:
    record = services.approvals.records.get(request_id)
    if record is None or not record.pending:
        raise NotFound(f"request #{request_id} is not pending")
    return record


def _edit_page(
    request: web.Request,
    record: ApprovalRecord,
    *,
    value: str | None = None,
    comment: str = "",
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    services: Services = request.app[SERVICES_KEY]
    editing = services.approvals.editing
    refusal = editing.refusal(record)
    prefill = editing.prefill(record)
    if refusal is None and prefill is None:
        refusal = f"request #{record.id} has no command or text to edit"
    field, current = prefill if prefill is not None else ("", "")
    return page(
        "approval_edit.html",
        status=status,
        me=viewer(request),
        csrf=csrf(request),
        record=record,
        refusal=refusal,
        field=field,
        value=current if value is None else value,
        comment=comment,
        error=error,
        max_comment=MAX_COMMENT,
        now=services.clock(),
    )


async def edit_page(request: web.Request) -> web.Response:
    """``GET /approvals/<id>/edit``: the request, its whole diff and the edit form (approvers:
    a viewer is refused the form as it would be refused the post)."""
    sessions_of(request).require(viewer(request), Role.APPROVER)
    services: Services = request.app[SERVICES_KEY]
    return _edit_page(request, _pending(services, _request_id(request)))


async def approve_edited(request: web.Request) -> web.StreamResponse:
    """``POST /approvals/<id>/edit``: ``value`` replaces the request's main field (the one the
    page offered, never one the form names), an optional ``comment`` goes back to the agent."""
    form = await check_change(request, Role.APPROVER)
    services: Services = request.app[SERVICES_KEY]
    me = viewer(request)
    request_id = _request_id(request)
    record = _pending(services, request_id)
    prefill = services.approvals.editing.prefill(record)
    if prefill is None:
        raise NotFound(f"request #{request_id} has no command or text to edit")
    field, shown = prefill
    value = form.get("value", "")
    if "\r" not in shown:
        value = value.replace("\r\n", "\n")  # a browser sends a textarea's lines as CRLF
    comment = (form.get("comment") or "").strip()[:MAX_COMMENT]
    try:
        await services.approvals.editing.approve_edited(
            request_id,
            {field: value},
            by=me.person,
            identity=identity_of(me),
            via="web",
            comment=comment or None,
        )
    except DomainError as exc:
        still = services.approvals.records.get(request_id)
        if still is None or not still.pending:
            raise  # decided elsewhere meanwhile: the refusal page says so
        status = next((code for kind, code in ERROR_STATUS.items() if isinstance(exc, kind)), 400)
        return _edit_page(
            request, still, value=value, comment=comment, error=str(exc), status=status
        )
    raise web.HTTPSeeOther("/approvals")
