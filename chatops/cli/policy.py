"""``chatops policy``: the approval policy's decisions, from a shell, without a controller.

``check --type T --data JSON`` prints one JSON decision (``decision``, ``reason``, ``rule``) and
exits 0 whatever it is (2 for invalid input); ``check --batch FILE`` (or ``-``) reads one
``{"type": …, "data": {…}, "agent": …}`` per line (``agent`` optional) and prints one decision
per line, in order, to audit a shell history or an agent's transcript in one go; ``show``
prints the effective rules (what ``/autoaccept rules`` shows). Both read the policy the
controller applies: the config file with the runtime changes it saved (the toggle, rules
changed from Discord or here, grants; see :mod:`chatops.services.approvals.effective`), and say
so on stderr when they had only the file.

``toggle [on|off]`` and ``rule TYPE KEY=VALUE...`` change it, as ``/autoaccept toggle|rule``
do, in the running controller (no controller answers: one line, exit 3), through the
operator's narrow door and recorded as ``cli (uid …, pid …)``. The words read as the cog's
options do (:func:`~chatops.presentation.rules.parse_rule_changes`; one that does not read is a
usage error, exit 2); whether the rule holds is the service's to say (refused: its words, exit
1, nothing changed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, TextIO

from chatops.cli.asking import ask
from chatops.config import Settings
from chatops.config.approvals import ActionType, Rule
from chatops.presentation.formatting import terminal_text
from chatops.presentation.markup import TERMINAL
from chatops.presentation.rules import parse_rule_changes, rule_line, toggle_text
from chatops.services.approvals.effective import EffectivePolicy, load_effective_policy
from chatops.timeutil import to_sqlite
from chatops.wire.protocol import PolicyRule, PolicyToggle

EXIT_INVALID = 2


def policy_command(settings: Settings, args: argparse.Namespace) -> int:
    if args.policy_command in ("toggle", "rule"):
        return _change(settings, args)
    policy = load_effective_policy(
        settings.approvals, settings.monitoring.database_path, time.time()
    )
    if policy.file_only is not None:
        print(
            f"chatops: the configuration's policy only: {policy.file_only}; runtime changes "
            "(the toggle, rules changed from Discord, grants) are kept there",
            file=sys.stderr,
        )
    for name, why in policy.skipped:
        print(
            f"chatops: the saved {name} is ignored, as the controller does: {why}", file=sys.stderr
        )
    if args.policy_command == "show":
        print(json.dumps(_shown(policy), indent=2))
        return 0
    if args.batch is not None:
        if args.batch == "-":
            return _batch(policy, sys.stdin)
        try:
            with open(args.batch, encoding="utf-8") as lines:
                return _batch(policy, lines)
        except OSError as exc:
            print(f"chatops: cannot read {args.batch}: {exc}", file=sys.stderr)
            return EXIT_INVALID
    if args.action_type is None or args.data is None:
        print("chatops: policy check needs --type and --data, or --batch", file=sys.stderr)
        return EXIT_INVALID
    data = _object(args.data)
    if data is None:
        print("chatops: --data must be a JSON object", file=sys.stderr)
        return EXIT_INVALID
    if args.action_type not in set(ActionType):
        known = ", ".join(ActionType)
        print(f"chatops: unknown action type {args.action_type!r} ({known})", file=sys.stderr)
        return EXIT_INVALID
    print(json.dumps(policy.decide(args.action_type, data)))
    return 0


def _change(settings: Settings, args: argparse.Namespace) -> int:
    """``toggle`` and ``rule``: the running controller changes its policy, or says why not."""
    message: PolicyToggle | PolicyRule
    if args.policy_command == "toggle":
        message = PolicyToggle(enabled=None if args.state is None else args.state == "on")
    else:
        try:
            changes = parse_rule_changes(args.changes)
        except ValueError as exc:
            print(f"chatops: {terminal_text(str(exc))}", file=sys.stderr)
            return EXIT_INVALID
        message = PolicyRule(action_type=args.action_type, changes=changes)
    socket_path = settings.monitoring.socket_path
    reply = ask(socket_path, message)
    if isinstance(message, PolicyToggle):
        print(f"Auto-accept is {toggle_text(bool(reply['enabled']))}.")
    else:
        rule = Rule.model_validate(reply["rule"])
        print("Rule changed: " + rule_line(str(reply["action_type"]), rule, TERMINAL))
    return 0


def _shown(policy: EffectivePolicy) -> dict[str, Any]:
    """Where it comes from, the rules in the config's own shape, what changed at runtime."""
    if policy.file_only is not None:
        source = f"the configuration only ({policy.file_only})"
    elif policy.changes or policy.grants:
        source = "the configuration, with the runtime changes the controller saved"
    else:
        source = "the configuration (the controller saved no runtime change)"
    return {
        "source": source,
        **policy.config.model_dump(mode="json"),
        "runtime_changes": {
            name: {"by": change.updated_by, "at": to_sqlite(change.updated_at)}
            for name, change in sorted(policy.changes.items())
        },
        "grants": [
            {
                "id": grant.id,
                "agent": grant.agent,
                "action_type": grant.action_type,
                "until": None if grant.until is None else to_sqlite(grant.until),
                "by": grant.created_by,
            }
            for grant in policy.grants
        ],
    }


def _batch(policy: EffectivePolicy, lines: TextIO) -> int:
    """One decision per input line, in order; a bad line gets an error object, not a stop."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        item = _object(line)
        agent = item.get("agent") if item is not None else None
        if (
            item is None
            or not isinstance(item.get("data", {}), dict)
            or not isinstance(agent, str | None)
        ):
            print(json.dumps({"line": number, "error": "not a {type, data} JSON object"}))
            continue
        print(json.dumps(policy.decide(str(item.get("type")), item.get("data") or {}, agent)))
    return 0


def _object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
