"""``chatops hook claude-code``: Claude Code's hooks, one command for every event.

Every event tells the controller about the session (:mod:`chatops.cli.hook_events`: the
session is a fleet member, its waiting and finishing are alerts). Two events are also asked a
decision. ``PreToolUse``, in front of every tool call, answers on stdout::

    {"hookSpecificOutput": {"hookEventName": "PreToolUse",
                            "permissionDecision": "allow" | "deny" | "ask",
                            "permissionDecisionReason": "…",
                            "updatedInput": {…}}}

``PermissionRequest``, where Claude Code would prompt its user, answers the same round trip in
that event's shape (``decision.behavior`` allow or deny with a ``message``); its ``ask`` is no
output at all, so Claude Code's own prompt appears.

``Bash`` is a ``terminal_command`` (``command``, ``cwd``); ``Write``, ``Edit``, ``MultiEdit``
and ``NotebookEdit`` are a ``file_write`` (``file_path``, the new text as ``content``, and the
session's ``cwd``, which is the workspace when ``approvals.workspace_root`` is unset). Other
tools, and the other events, get no decision: Claude Code's own rules apply.
An ``Edit`` also sends its ``old_string`` and ``new_string``, so the prompt shows their diff.

An approver may approve with an edit (a safer command, a corrected text): the controller's
answer then carries ``updated_data``, which :func:`updated_tool_input` maps back onto the tool's
input, returned as ``updatedInput`` with ``allow`` — Claude Code runs the edited call. An edit
that cannot be mapped back (a ``MultiEdit``, a notebook) is a ``deny`` naming the edit: the
original was not what the approver allowed.

The controller decides (its policy with the runtime changes, a human for what needs one).
When it is not running, the same policy runs here: what it denies is denied, what it accepts
is allowed, and only what needs a human becomes ``ask`` (Claude Code's own prompt). Whatever
goes wrong inside the hook (an unreadable config, a garbled or silent controller, a bug) is
answered ``ask`` in Claude Code's format with exit 0: exit 2 from a ``PreToolUse`` hook
blocks the tool, so a broken hook must never exit with it.

The hook runs on every tool call, so the path to the controller's answer imports only what it
needs: the config file is read raw for the socket path (:mod:`chatops.config_file`), and the
full configuration and the policy engine are loaded only when the controller is away.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from chatops.cli.hook_events import agent_name, report_session
from chatops.cli.hook_replies import STOP_EVENT, wait_for_reply
from chatops.client.actions import CONTENT_CHARS, fit_action_data
from chatops.client.blocking import MonitorError, request_json
from chatops.config_file import ConfigError, configured_socket_path, resolve_config_path
from chatops.records.replies import DEFAULT_MAX_REPLIES

HANDLED_EVENT = "PreToolUse"
PERMISSION_EVENT = "PermissionRequest"
DECIDED_EVENTS = frozenset({HANDLED_EVENT, PERMISSION_EVENT})
UNATTENDED = "unattended"
"""The ``via`` of a request the controller could tell no approver of (the approval service's
``UNATTENDED``; not imported, to keep the service out of the hook's path)."""
_FILE_TOOLS = frozenset({"Write", "Edit", "MultiEdit", "NotebookEdit"})
Answer = tuple[str, str, dict[str, Any] | None]
"""(allow|deny|ask, reason, the approver's edited action data or None)."""
_VERDICTS = {"accept": "allow", "deny": "deny", "confirm": "ask"}
"""``--max-replies``: a ``Stop`` blocked with an operator's reply at most this often in a row."""


class ControllerAway(Exception):
    """No controller answered the first time: the local policy decides."""


def action_for(event: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The chatops action a tool call is, or None for a tool chatops does not judge."""
    tool = event.get("tool_name")
    tool_input = event.get("tool_input")
    if not isinstance(tool_input, dict):
        return None
    cwd = event.get("cwd")
    where = {"cwd": cwd} if isinstance(cwd, str) and cwd else {}
    if tool == "Bash":
        return "terminal_command", {"command": str(tool_input.get("command", "")), **where}
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
        data = {"file_path": str(path or ""), "content": str(content or ""), **where}
        old, new = tool_input.get("old_string"), tool_input.get("new_string")
        if tool == "Edit" and isinstance(old, str) and isinstance(new, str):
            data.update(_edit_strings(old, new))
        return "file_write", data
    return None


def _edit_strings(old: str, new: str) -> dict[str, str]:
    """An Edit's two texts (the prompt shows their diff), when they fit beside the content; a
    larger edit is sent as its content alone, as before."""
    if len(old) + len(new) > CONTENT_CHARS:
        return {}
    return {"old_string": old, "new_string": new}


def _judged(tool: object) -> bool:
    """The tools chatops judges (a command, a file write), whatever their input."""
    return tool == "Bash" or tool in _FILE_TOOLS


def updated_tool_input(
    tool_name: object, original_tool_input: dict[str, Any], updated_data: dict[str, Any]
) -> dict[str, Any] | None:
    """The tool's input with an approver's edit applied (``updated_data``: the action's data as
    approved, see :func:`action_for`), keeping every other field of the original; None when the
    edit cannot be put back into this tool's input. ``Bash``: its ``command``; ``Write``: its
    ``content``; ``Edit``: its ``new_string`` (``content`` where only that was edited) and
    ``old_string``; a
    ``file_path`` the edit changed (the policy judged the edited one) for both."""
    updated = dict(original_tool_input)
    if tool_name == "Bash":
        command = updated_data.get("command")
        if not isinstance(command, str):
            return None
        updated["command"] = command
        return updated
    if tool_name not in ("Write", "Edit"):
        return None
    path = updated_data.get("file_path")
    if isinstance(path, str) and path:
        updated["file_path"] = path
    if tool_name == "Write":
        content = updated_data.get("content")
        if not isinstance(content, str):
            return None
        updated["content"] = content
        return updated
    new = updated_data.get("new_string", updated_data.get("content"))
    if not isinstance(new, str):
        return None
    updated["new_string"] = new
    old = updated_data.get("old_string")
    if isinstance(old, str):
        updated["old_string"] = old  # the text the approved edit replaces, as judged
    return updated


def decision_output(
    decision: str,
    reason: str,
    event: str = HANDLED_EVENT,
    updated_input: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Claude Code's answer to ``event`` for allow (with the approver's edit as
    ``updatedInput``), deny or ask. For ``PermissionRequest``, ``ask`` is no answer: Claude
    Code shows its own prompt."""
    if event == PERMISSION_EVENT:
        if decision == "allow":
            allowed: dict[str, Any] = {"behavior": "allow"}
            if updated_input is not None:
                allowed["updatedInput"] = updated_input
            return {"hookSpecificOutput": {"hookEventName": event, "decision": allowed}}
        if decision == "deny":
            behaviour = {"behavior": "deny", "message": f"chatops: {reason}"[:1000]}
            return {"hookSpecificOutput": {"hookEventName": event, "decision": behaviour}}
        return None
    output: dict[str, Any] = {
        "hookEventName": HANDLED_EVENT,
        "permissionDecision": decision,
        "permissionDecisionReason": f"chatops: {reason}"[:1000],
    }
    if updated_input is not None:
        output["updatedInput"] = updated_input
    return {"hookSpecificOutput": output}


def approval_request_body(
    agent: str, action_type: str, data: dict[str, Any], timeout: float, key: str
) -> dict[str, Any]:
    """An ``approval_request`` as the protocol spells it in JSON
    (:class:`chatops.wire.protocol.ApprovalRequest`; a test holds the two together), built
    without importing the protocol: the hook pays for msgspec on no tool call."""
    return {
        "type": "approval_request",
        "agent": agent,
        "action_type": action_type,
        "data": fit_action_data(data),
        "timeout": timeout,
        "key": key,
    }


def ask_controller(
    socket_path: Path, agent: str, action_type: str, data: dict[str, Any], timeout: float
) -> Answer:
    """(allow|deny|ask, reason, edited data) from the controller. Asks again with the same key
    if the controller restarts while a human decides; raises :class:`ControllerAway` when
    nobody answers the first time."""
    body = approval_request_body(agent, action_type, data, timeout, os.urandom(16).hex())
    deadline = time.monotonic() + timeout + 90.0
    filed = False  # the controller has the request: it waits for a human, across a restart
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            reply = request_json(socket_path, body, timeout=remaining)
        except MonitorError as exc:
            if exc.code != "shutting_down":
                return "ask", f"the controller refused the request ({exc.code})", None
            if not filed:
                raise ControllerAway(exc.code) from None
            # Stopping while a human decides: ask again with the key once it is back.
        except (ConnectionRefusedError, FileNotFoundError) as exc:
            if not filed:
                raise ControllerAway(type(exc).__name__) from None
        except OSError:
            filed = True  # sent, then the connection dropped or went silent
        except ValueError:  # a reply that is not a JSON object: no controller of ours
            if not filed:
                raise ControllerAway("a garbled reply") from None
            return "ask", "the controller's reply could not be read", None
        else:
            reason = str(reply.get("reason") or reply.get("state"))
            if reply.get("via") == UNATTENDED:
                return "ask", reason, None  # nobody but the person at Claude Code can answer it
            if reply.get("decision") != "approve":
                return "deny", reason, None
            edited = reply.get("updated_data")
            return "allow", reason, edited if isinstance(edited, dict) else None
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    return "ask", "no answer from the controller in time", None


def decide_locally(
    config_path: Path | None, agent: str, action_type: str, data: dict[str, Any]
) -> tuple[str, str]:
    """The policy the controller would apply (the file's rules, the runtime changes and grants
    it saved), without it: its deny and accept stand, a human's turn is ``ask``."""
    from chatops.config import load_settings
    from chatops.services.approvals.effective import load_effective_policy

    try:
        settings = load_settings(config_path, search_cwd=False)
    except ConfigError as exc:
        print(f"chatops: {exc}", file=sys.stderr)  # the details for the operator, not the agent
        return "ask", "chatops's config is unusable, so nothing is decided here (see stderr)"
    effective = load_effective_policy(
        settings.approvals, settings.monitoring.database_path, time.time()
    )
    decision = effective.decide(action_type, data, agent=agent)
    verdict = _VERDICTS[decision["decision"]]
    unsure = None
    if config_path is None:
        unsure = "no chatops config was found, so the controller's rules are unknown"
    elif effective.unreadable:
        unsure = f"the controller's saved changes cannot be read ({effective.file_only})"
    if verdict == "allow" and unsure is not None:
        return "ask", f"{decision['reason']}, but {unsure}"
    note = "the controller is not running; decided by the local policy"
    return verdict, f"{decision['reason']} ({note})"


def respond(
    config: str | None,
    agent: str | None,
    timeout: float,
    text: str,
    *,
    wait_reply: float = 0.0,
    max_replies: int = DEFAULT_MAX_REPLIES,
) -> dict[str, Any] | None:
    """Claude Code's answer to one event, or None when chatops has nothing to say. With
    ``wait_reply``, a ``Stop`` waits that long for its operator's reply
    (:mod:`chatops.cli.hook_replies`)."""
    try:
        event = json.loads(text)
    except ValueError:
        return decision_output("ask", "the hook event is not JSON")
    if not isinstance(event, dict):
        return decision_output("ask", "the hook event is not a JSON object")
    name = event.get("hook_event_name")
    name = name if isinstance(name, str) else ""
    try:
        config_path = resolve_config_path(config, search_cwd=False)
        socket_path = configured_socket_path(config_path)
    except ConfigError as exc:
        print(f"chatops: {exc}", file=sys.stderr)  # may quote the file: not for the agent
        if name not in DECIDED_EVENTS:
            return None
        return decision_output("ask", "chatops's config is unusable (see the hook's stderr)", name)
    report_session(socket_path, agent, event)
    if name == STOP_EVENT:
        try:
            return wait_for_reply(socket_path, agent, event, wait_reply, max_replies)
        except Exception:  # never block by accident
            return None
    if name not in DECIDED_EVENTS:
        return None
    action = action_for(event)
    if action is None:
        if _judged(event.get("tool_name")) and not isinstance(event.get("tool_input"), dict):
            return decision_output("ask", "the tool call's input is not a JSON object", name)
        return None  # not ours to judge: Claude Code's own rules apply
    who = agent_name(agent, event)
    try:
        verdict, reason, edited = ask_controller(socket_path, who, *action, timeout)
    except ControllerAway:
        verdict, reason = decide_locally(config_path, who, *action)
        edited = None
    if edited is None:
        return decision_output(verdict, reason, name)
    updated = updated_tool_input(event.get("tool_name"), event["tool_input"], edited)
    if updated is None:
        why = f"approved only with an edit chatops cannot apply to {event.get('tool_name')}"
        return decision_output("deny", f"{why}: {json.dumps(edited)}", name)
    return decision_output("allow", f"{reason} (approved with an edit)", name, updated)


def claude_code_hook(
    config: str | None,
    agent: str | None,
    timeout: float,
    stdin: TextIO,
    stdout: TextIO,
    *,
    wait_reply: float = 0.0,
    max_replies: int = DEFAULT_MAX_REPLIES,
) -> int:
    text = stdin.read()
    try:
        answer = respond(
            config, agent, timeout, text, wait_reply=wait_reply, max_replies=max_replies
        )
    except Exception as exc:  # whatever breaks, Claude Code gets an answer and exit 0
        answer = None
        if not _is_stop(text):
            answer = decision_output(
                "ask", f"the hook failed ({type(exc).__name__}: {exc})", _event_name(text)
            )
    if answer is not None:
        _write(stdout, answer)
    return 0


def unparsable_command_line() -> int:
    """argparse has said what is wrong on stderr; Claude Code gets ``ask`` and exit 0."""
    answer = decision_output("ask", "the hook's command line is wrong (see stderr)")
    assert answer is not None  # PreToolUse's ask is an answer
    _write(sys.stdout, answer)
    return 0


def _write(stdout: TextIO, answer: dict[str, Any]) -> None:
    stdout.write(json.dumps(answer) + "\n")
    stdout.flush()


def _event_name(text: str) -> str:
    """The event a failed hook was answering, to fail in its shape (deny or ask, never allow);
    ``PreToolUse`` when it cannot be told."""
    try:
        event = json.loads(text)
    except ValueError:
        return HANDLED_EVENT
    name = event.get("hook_event_name") if isinstance(event, dict) else None
    return name if name in DECIDED_EVENTS else HANDLED_EVENT


def _is_stop(text: str) -> bool:
    """A ``Stop`` event: any output to it would be read as a block, so a failure says nothing."""
    try:
        event = json.loads(text)
    except ValueError:
        return False
    return isinstance(event, dict) and event.get("hook_event_name") == STOP_EVENT


def hook_command(
    config: str | None,
    agent: str | None,
    timeout: float,
    *,
    wait_reply: float = 0.0,
    max_replies: int = DEFAULT_MAX_REPLIES,
) -> int:
    return claude_code_hook(
        config,
        agent,
        timeout,
        sys.stdin,
        sys.stdout,
        wait_reply=wait_reply,
        max_replies=max_replies,
    )
