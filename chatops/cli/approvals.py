"""``chatops approvals list|stats|approve ID [--edit JSON]|deny ID|grant ID|revoke GRANT_ID``:
answer approval requests from a shell, through the running controller (headless mode's door;
Discord's buttons are the other). ``grant`` is the prompt's *Approve for this agent*
(``--always``: *Always allow*), ``revoke`` is ``/autoaccept revoke``; the service's rules decide
both (no grant where a rule wants more than one approver). ``stats`` is ``/autoaccept stats``
(its sections rendered once, in :mod:`chatops.presentation.rules`); ``list --all`` is
``/autoaccept recent``. ``approve --edit JSON`` is the prompt's *Edit and approve*: the JSON
object's fields replace the action's, the policy judges the result again (a deny is refused, the
request stays pending), and the agent acts on the edited data. ``list`` shows each request's
diff whole, and an edit.

Deciding over the socket is narrow on purpose (see ``approvals.socket_decisions``; the rules are
:class:`~chatops.services.operators.OperatorGate`'s): the controller's own uid only, never from
an agent's connection nor from the asking agent's process tree, session or process group, and by
default only from a terminal. This module only renders the answer or the refusal."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from chatops.cli.asking import ask
from chatops.config import Settings
from chatops.presentation.approvals import granted_text, revoked_text
from chatops.presentation.formatting import describe_duration, terminal_text
from chatops.presentation.markup import TERMINAL
from chatops.presentation.rules import stats_fields, stats_summary, stats_title
from chatops.records.approvals import ApprovalStats, Grant
from chatops.wire.protocol import ApprovalStatsRequest, DecideApproval, ListApprovals, RevokeGrant

EXIT_USAGE = 2
"""``--edit`` that is not a JSON object: nothing was asked."""


def approvals_command(settings: Settings, args: argparse.Namespace) -> int:
    socket_path = settings.monitoring.socket_path
    if args.approvals_command == "list":
        limit = max(1, min(args.limit, 500))
        reply = ask(socket_path, ListApprovals(pending_only=not args.all, limit=limit), timeout=5.0)
        items = list(reply.get("approvals", []))
        print(json.dumps(items, indent=2) if args.json else format_approvals(items, time.time()))
        return 0
    if args.approvals_command == "stats":
        reply = ask(socket_path, ApprovalStatsRequest(days=args.days), timeout=10.0)
        print(_stats_text(reply, args.days, as_json=args.json))
        return 0
    if args.approvals_command == "revoke":
        reply = ask(socket_path, RevokeGrant(grant=args.grant_id), timeout=10.0)
        print(revoked_text(_grant(reply["grant"]), terminal_text))
        return 0
    if args.approvals_command == "grant":
        message = DecideApproval(
            request=args.request_id,
            decision="approve",
            grant="always" if args.always else "session",
        )
    elif getattr(args, "edit", None) is not None:
        edit = _edit(args.edit)
        if edit is None:
            return EXIT_USAGE
        message = DecideApproval(
            request=args.request_id, decision="approve", edit=edit, comment=args.comment
        )
    else:
        message = DecideApproval(
            request=args.request_id, decision=args.approvals_command, reason=args.reason
        )
    reply = ask(socket_path, message, timeout=40.0)
    state = reply.get("state")
    edited = " with an edit" if reply.get("updated_data") is not None else ""
    print(f"request #{args.request_id}: {state}{edited}" + _by(reply))
    if reply.get("grant"):
        print(granted_text(_grant(reply["grant"]), time.time(), terminal_text))
    return 0


def _edit(text: str) -> dict[str, Any] | None:
    """``--edit``'s JSON object, or None once what is wrong with it is said on stderr."""
    try:
        edit = json.loads(text)
    except ValueError as exc:
        print(f"chatops: --edit is not JSON: {exc}", file=sys.stderr)
        return None
    if not isinstance(edit, dict) or not edit:
        print(
            'chatops: --edit takes a JSON object of fields, e.g. {"command": "…"}', file=sys.stderr
        )
        return None
    return edit


def _stats_text(reply: dict[str, Any], days: int | None, *, as_json: bool) -> str:
    """``/autoaccept stats``'s sections, as the terminal shows them (or the socket's JSON)."""
    fields = {name: reply[name] for name in ApprovalStats.__dataclass_fields__}
    if as_json:
        return json.dumps(fields, indent=2)
    stats = ApprovalStats(**fields)
    lines = [stats_title(days), stats_summary(stats, TERMINAL)]
    for name, body in stats_fields(stats, TERMINAL, {}):
        lines += ["", f"{name}:", *(f"  {line}" for line in body.splitlines())]
    return "\n".join(lines)


def _grant(item: dict[str, Any]) -> Grant:
    """A grant as the socket answers it (``grant_to_dict``)."""
    return Grant(
        id=item["id"],
        agent=item["agent"],
        action_type=item["action_type"],
        until=item["until"],
        created_by=item["created_by"],
        created_at=item["created_at"],
    )


def _by(reply: dict[str, Any]) -> str:
    by = reply.get("decided_by")
    return f" by {terminal_text(str(by))}" if by else ""


def format_approvals(items: Sequence[dict[str, Any]], now: float) -> str:
    if not items:
        return "No approval requests waiting."
    lines = []
    for item in items:
        if item["state"] == "pending":
            left = describe_duration((item.get("expires_at") or now) - now)
            status = f"pending {item['approvals']}/{item['approvals_required']}, {left} left"
        else:
            status = item["state"] + (
                f" by {terminal_text(str(item['decided_by']))}" if item.get("decided_by") else ""
            )
        lines.append(
            f"#{item['id']}  {terminal_text(item['agent'])}  {item['action_type']}  [{status}]\n"
            f"    {terminal_text(item['summary'])}\n"
            f"    {terminal_text(item['reason'])} (rule {item['rule']})"
        )
        lines += _edit_lines(item)
    return "\n".join(lines)


def _edit_lines(item: dict[str, Any]) -> list[str]:
    """An edit an approver made (who, the note, the data as approved) and the diff, whole."""
    lines = []
    if item.get("edited"):
        by = terminal_text(str(item.get("edited_by") or "?"))
        lines.append(f"    approved with edit by {by}")
        if item.get("edit_comment"):
            lines.append(f"    comment: {terminal_text(str(item['edit_comment']))}")
        edited = json.dumps(item.get("edited_data"), ensure_ascii=False)
        lines.append(f"    edited: {terminal_text(edited)}")
    diff = item.get("diff")
    if diff:
        lines += [f"    {terminal_text(line)}" for line in str(diff).splitlines()]
    return lines
