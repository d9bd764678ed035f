"""``chatops policy``: the approval policy's decisions, from a shell, without a controller.

``check --type T --data JSON`` prints one JSON decision (``decision``, ``reason``, ``rule``) and
exits 0 whatever it is (2 for invalid input); ``check --batch FILE`` (or ``-``) reads one
``{"type": …, "data": {…}}`` per line and prints one decision per line, in order, to audit a
shell history or an agent's transcript in one go; ``show`` prints the effective rules.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from chatops.config import Settings
from chatops.services.approvals.policy import Policy

EXIT_INVALID = 2


def policy_command(settings: Settings, args: argparse.Namespace) -> int:
    policy = Policy(settings.approvals)
    if args.policy_command == "show":
        print(settings.approvals.model_dump_json(indent=2))
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
    print(json.dumps(_decision(policy, args.action_type, data)))
    return 0


def _batch(policy: Policy, lines: TextIO) -> int:
    """One decision per input line, in order; a bad line gets an error object, not a stop."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        item = _object(line)
        if item is None or not isinstance(item.get("data", {}), dict):
            print(json.dumps({"line": number, "error": "not a {type, data} JSON object"}))
            continue
        print(json.dumps(_decision(policy, str(item.get("type")), item.get("data") or {})))
    return 0


def _decision(policy: Policy, action_type: str, data: dict[str, Any]) -> dict[str, Any]:
    decision = policy.decide(action_type, data)
    return {"decision": decision.decision, "reason": decision.reason, "rule": decision.rule}


def _object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
