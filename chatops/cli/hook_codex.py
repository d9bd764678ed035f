"""``chatops hook codex``: Codex's hooks, in Codex's own output schema.

Codex's hook events carry Claude Code's names and fields (``docs/coding-agents-events.md``,
section 6), so every event reports the session as Claude Code's do
(:mod:`chatops.cli.hook_events`, kind ``codex``). The answers differ:

* ``PermissionRequest`` (Codex would ask its user): the approval round trip. Allow is
  ``{"decision": {"behavior": "allow"}}``; deny carries a ``message``. Codex refuses an
  ``updatedInput`` (the hook run fails, and its normal prompt appears), so an approval with an
  edit is a deny whose message is the edited command: Codex never runs what nobody approved.
  ``ask`` is no output: Codex's own prompt.
* ``PreToolUse``: Codex takes only a deny here (``ask`` is invalid, a bare ``allow`` too), so
  the policy's deny is said and nothing else: the controller's policy, asked without a human
  (``wait: false``), else the same policy locally when it is away. A command that needs a human
  reaches one through ``PermissionRequest``.

Whatever goes wrong (a config, a garbled controller, a bug) is no output and exit 0: Codex's
own approval then applies, never an allow.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

from chatops.cli.hook import (
    ControllerAway,
    approval_request_body,
    ask_controller,
    decide_locally,
)
from chatops.cli.hook_events import agent_name, report_session
from chatops.client.blocking import MonitorError, request_json
from chatops.config_file import ConfigError, configured_socket_path, resolve_config_path

KIND = "codex"
POLICY_TIMEOUT = 10.0
"""The policy answers at once; this bounds a controller that does not."""


def permission_output(behavior: str, message: str | None = None) -> dict[str, Any]:
    decision: dict[str, Any] = {"behavior": behavior}
    if message is not None:
        decision["message"] = f"chatops: {message}"[:1000]
    return {"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": decision}}


def deny_before_use(reason: str) -> dict[str, Any]:
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": f"chatops: {reason}"[:1000],
        }
    }


def _command(event: dict[str, Any]) -> dict[str, Any] | None:
    """A shell command Codex is about to run, as a ``terminal_command``; None for anything else
    (a network access, a patch, an MCP tool: Codex's own rules)."""
    tool_input = event.get("tool_input")
    if event.get("tool_name") != "Bash" or not isinstance(tool_input, dict):
        return None
    command = tool_input.get("command")
    if isinstance(command, list):
        command = " ".join(str(word) for word in command)
    if not isinstance(command, str) or not command.strip():
        return None
    cwd = event.get("cwd")
    return {"command": command, **({"cwd": cwd} if isinstance(cwd, str) and cwd else {})}


def policy_only(
    socket_path: Path, config_path: Path | None, agent: str, data: dict[str, Any]
) -> tuple[str, str]:
    """(deny|other, reason): the controller's policy for ``data``, no human asked (its rules,
    runtime changes and grants); the same policy here when no controller answers."""
    body = {**approval_request_body(agent, "terminal_command", data, 1.0, ""), "wait": False}
    del body["key"]
    try:
        reply = request_json(socket_path, body, timeout=POLICY_TIMEOUT)
    except (OSError, ValueError, MonitorError):
        # No answer, or a refusal (data too large, a name not ours): Codex would run the
        # command on no verdict, so the same policy judges it here and its deny stands.
        return decide_locally(config_path, agent, "terminal_command", data)
    denied = reply.get("state") == "denied"
    return ("deny" if denied else "ask"), str(reply.get("reason") or reply.get("state"))


def respond(
    config: str | None, agent: str | None, timeout: float, text: str
) -> dict[str, Any] | None:
    """Codex's answer to one event, or None when chatops has nothing to say."""
    event = json.loads(text)
    if not isinstance(event, dict):
        return None
    try:
        config_path = resolve_config_path(config, search_cwd=False)
        socket_path = configured_socket_path(config_path)
    except ConfigError as exc:
        print(f"chatops: {exc}", file=sys.stderr)
        return None
    report_session(socket_path, agent, event, KIND)
    name = event.get("hook_event_name")
    data = _command(event)
    if data is None or name not in ("PermissionRequest", "PreToolUse"):
        return None
    who = agent_name(agent, event)
    if name == "PreToolUse":
        verdict, reason = policy_only(socket_path, config_path, who, data)
        return deny_before_use(reason) if verdict == "deny" else None
    try:
        verdict, reason, edited = ask_controller(
            socket_path, who, "terminal_command", data, timeout
        )
    except ControllerAway:
        verdict, reason = decide_locally(config_path, who, "terminal_command", data)
        edited = None
    if verdict == "allow" and edited is not None:
        instead = edited.get("command", json.dumps(edited))
        return permission_output(
            "deny", f"approved only as edited; Codex cannot run an edit, so run this: {instead}"
        )
    if verdict == "allow":
        return permission_output("allow")
    if verdict == "deny":
        return permission_output("deny", reason)
    return None


def codex_hook(
    config: str | None, agent: str | None, timeout: float, stdin: TextIO, stdout: TextIO
) -> int:
    try:
        answer = respond(config, agent, timeout, stdin.read())
    except Exception as exc:  # whatever breaks: no verdict, Codex's own approval applies
        print(f"chatops: the hook failed ({type(exc).__name__}: {exc})", file=sys.stderr)
        answer = None
    if answer is not None:
        stdout.write(json.dumps(answer) + "\n")
        stdout.flush()
    return 0
