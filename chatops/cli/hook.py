"""``chatops hook claude-code``: a Claude Code ``PreToolUse`` hook that asks the controller.

Claude Code runs the hook with the event on stdin (``tool_name``, ``tool_input``, ``cwd``…)
and reads a decision on stdout::

    {"hookSpecificOutput": {"hookEventName": "PreToolUse",
                            "permissionDecision": "allow" | "deny" | "ask",
                            "permissionDecisionReason": "…"}}

``Bash`` is a ``terminal_command`` (``command``, ``cwd``); ``Write``, ``Edit``, ``MultiEdit``
and ``NotebookEdit`` are a ``file_write`` (``file_path``, the new text as ``content``). Other
tools get no decision (Claude Code's own permission rules apply). The policy's accept is
``allow``, its deny ``deny`` with the reason (Claude reads it); a request a human must decide
waits for the Discord (or CLI) answer. When the controller cannot be reached, or stops
answering, the hook says ``ask``: Claude Code's own prompt, never a silent allow. It always
exits 0, so a failure of the hook itself never blocks or allows by accident.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from typing import Any, TextIO

from chatops.client.approvals import fit_action_data
from chatops.client.blocking import MonitorError, request
from chatops.config import Settings
from chatops.wire.protocol import ApprovalRequest

_RETRY = frozenset({"shutting_down", "storage_error", "internal_error"})
_FILE_TOOLS = frozenset({"Write", "Edit", "MultiEdit", "NotebookEdit"})


def add_parser(sub: Any) -> None:
    hook = sub.add_parser("hook", help="permission hooks for coding agents")
    hook_sub = hook.add_subparsers(dest="hook_command", required=True)
    claude = hook_sub.add_parser("claude-code", help="a Claude Code PreToolUse hook (stdin)")
    claude.add_argument("--agent", default="claude-code", help="the agent's name in chatops")
    claude.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for a human (then deny)"
    )


def action_for(event: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The chatops action a tool call is, or None for a tool chatops does not judge."""
    tool = event.get("tool_name")
    tool_input = event.get("tool_input")
    if not isinstance(tool_input, dict):
        return None
    if tool == "Bash":
        data: dict[str, Any] = {"command": str(tool_input.get("command", ""))}
        if isinstance(event.get("cwd"), str):
            data["cwd"] = event["cwd"]
        return "terminal_command", data
    if tool in _FILE_TOOLS:
        path = tool_input.get("file_path") or tool_input.get("notebook_path")
        if tool == "Write":
            content = tool_input.get("content")
        elif tool == "MultiEdit":
            edits = tool_input.get("edits")
            content = "\n".join(
                str(edit.get("new_string", ""))
                for edit in (edits if isinstance(edits, list) else [])
                if isinstance(edit, dict)
            )
        else:
            content = tool_input.get("new_string", tool_input.get("new_source"))
        return "file_write", {"file_path": str(path or ""), "content": str(content or "")}
    return None


def decision_output(decision: str, reason: str) -> dict[str, Any]:
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": decision,
            "permissionDecisionReason": f"chatops: {reason}"[:1000],
        }
    }


def ask_controller(
    settings: Settings, agent: str, action_type: str, data: dict[str, Any], timeout: float
) -> tuple[str, str]:
    """(allow|deny|ask, reason). Asks again with the same key if the controller restarts
    while a human decides; gives up to ``ask`` when it cannot be reached."""
    message = ApprovalRequest(
        agent=agent,
        action_type=action_type,
        data=fit_action_data(data),
        timeout=timeout,
        key=uuid.uuid4().hex,
    )
    deadline = time.monotonic() + timeout + 90.0
    asked = False
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            reply = request(settings.monitoring.socket_path, message, timeout=remaining)
        except MonitorError as exc:
            if exc.code not in _RETRY:
                return "ask", f"the controller refused the request ({exc})"
            asked = True
        except OSError as exc:
            if not asked:
                return "ask", f"the controller could not be reached ({type(exc).__name__})"
            asked = True
        else:
            verdict = "allow" if reply.get("decision") == "approve" else "deny"
            return verdict, str(reply.get("reason") or reply.get("state"))
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    return "ask", "no answer from the controller in time"


def claude_code_hook(settings: Settings, agent: str, timeout: float, stdin: TextIO) -> int:
    try:
        event = json.loads(stdin.read())
    except ValueError:
        print(json.dumps(decision_output("ask", "the hook event is not JSON")))
        return 0
    action = action_for(event) if isinstance(event, dict) else None
    if action is None:
        return 0  # not ours to judge: Claude Code's own rules apply
    decision, reason = ask_controller(settings, agent, *action, timeout)
    print(json.dumps(decision_output(decision, reason)))
    return 0


def hook_command(settings: Settings, agent: str, timeout: float) -> int:
    return claude_code_hook(settings, agent, timeout, sys.stdin)
