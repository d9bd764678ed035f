"""What each Claude Code hook event tells the controller about its session.

Every event the hook gets (``docs/coding-agents-events.md`` lists the shapes relied on) becomes
one ``agent_session`` event for the session that runs the hook (:mod:`chatops.client.sessions`):

==================  ==========  =====================================================
Claude Code event   session     what it carries
==================  ==========  =====================================================
SessionStart        start       cwd, model (when Claude Code gives it)
SessionEnd          end         the reason: the session leaves the fleet, no alert
Notification        waiting     the notification's text ("Claude needs your permission")
Stop                finished    the first lines of the last answer (masked by the controller)
SubagentStop        activity    the subagent's type as the "tool"
PreToolUse          activity    the tool it is about to use
PermissionRequest   activity    the tool it asks for (the approval round trip is the hook's)
PostToolUse         activity    the tool it used
StopFailure         failed      the error type (``rate_limit``…) and its details
==================  ==========  =====================================================

Reporting is best effort and short: a hook that cannot reach the controller still answers
Claude Code (or says nothing) at once; the next event reports again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from chatops.client.blocking import MonitorError, request_json, send_json
from chatops.client.sessions import session_body, session_name, session_process

KIND = "claude-code"
SESSION_EVENTS = {
    "SessionStart": "start",
    "SessionEnd": "end",
    "Notification": "waiting",
    "Stop": "finished",
    "SubagentStop": "activity",
    "PreToolUse": "activity",
    "PermissionRequest": "activity",
    "PostToolUse": "activity",
    "StopFailure": "failed",
}
WAITING_NOTIFICATIONS = frozenset({"permission_prompt", "idle_prompt", "elicitation_dialog"})
"""Notifications that say the session waits for its operator; others (an auth success) are
activity. A notification without a type is taken as waiting, as older versions sent."""
REPORT_TIMEOUT = 2.0
TRANSCRIPT_TAIL = 256 * 1024
"""How much of the transcript's end is read for the last answer: enough for any answer's
text, bounded whatever the transcript's size."""
MESSAGE_CHARS = 1500


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def agent_name(agent: str | None, event: dict[str, Any]) -> str:
    """The session's name: ``--agent``, else its project directory (``$CLAUDE_PROJECT_DIR``,
    which Claude Code sets for its hooks and which stays put when the session changes
    directory; else the event's ``cwd``) — the name its status line gives it too."""
    project = os.environ.get("CLAUDE_PROJECT_DIR") or _text(event.get("cwd"))
    return session_name(agent, project.rstrip("/") if project else None)


def session_event(
    agent: str | None, event: dict[str, Any], pid: int, kind: str = KIND
) -> dict[str, Any] | None:
    """The ``agent_session`` request one hook event makes, or None for an event chatops does
    not follow. Codex's hooks share Claude Code's event names and fields (``kind`` says whose
    session it is)."""
    hook = event.get("hook_event_name")
    session = SESSION_EVENTS.get(hook) if isinstance(hook, str) else None
    if session is None:
        return None
    fields: dict[str, Any] = {
        "session_id": _text(event.get("session_id")),
        "cwd": _text(event.get("cwd")),
    }
    model = event.get("model")
    if isinstance(model, dict):
        model = model.get("id") or model.get("display_name")
    fields["model"] = _text(model)
    if hook == "Notification":
        if _text(event.get("notification_type")) not in (None, *WAITING_NOTIFICATIONS):
            session = "activity"
        fields["message"] = _text(event.get("message"))
    elif hook in ("PreToolUse", "PermissionRequest", "PostToolUse"):
        fields["tool"] = _text(event.get("tool_name"))
    elif hook == "SubagentStop":
        fields["tool"] = _text(event.get("agent_type")) or "subagent"
    elif hook == "Stop":
        fields["message"] = last_answer(event)
    elif hook == "SessionEnd":
        fields["reason"] = _text(event.get("reason"))
    elif hook == "StopFailure":
        fields["reason"] = _text(event.get("error")) or _text(event.get("error_type"))
        details = event.get("error_details") or event.get("error_message")
        fields["message"] = _text(details if isinstance(details, str) else None)
    for key in ("message", "reason", "cwd"):
        if fields.get(key):
            fields[key] = fields[key][:MESSAGE_CHARS]
    return session_body(agent_name(agent, event), pid, session, kind, **fields)


def last_answer(event: dict[str, Any]) -> str | None:
    """The session's last answer: ``last_assistant_message`` (Claude Code 2.1.47 and later),
    else the last assistant text in the transcript's tail."""
    given = _text(event.get("last_assistant_message"))
    if given is not None:
        return given[:MESSAGE_CHARS]
    path = _text(event.get("transcript_path"))
    return None if path is None else transcript_last_answer(Path(path))


def transcript_last_answer(path: Path) -> str | None:
    """The text of the transcript's last assistant line that has any (one answer may span
    several lines, some with tool calls only)."""
    try:
        with path.open("rb") as transcript:
            transcript.seek(0, 2)
            size = transcript.tell()
            transcript.seek(max(0, size - TRANSCRIPT_TAIL))
            tail = transcript.read()
    except OSError:
        return None
    for raw in reversed(tail.splitlines()):
        try:
            line = json.loads(raw)
        except ValueError:
            continue  # the first line of the tail may be cut
        if not isinstance(line, dict) or line.get("type") != "assistant":
            continue
        message = line.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str) and content.strip():
            return content.strip()[:MESSAGE_CHARS]
        if isinstance(content, list):
            texts = [
                str(block.get("text", ""))
                for block in content
                if isinstance(block, dict) and block.get("type") == "text"
            ]
            text = "\n".join(t for t in texts if t.strip()).strip()
            if text:
                return text[:MESSAGE_CHARS]
    return None


def report_session(
    socket_path: Path, agent: str | None, event: dict[str, Any], kind: str = KIND
) -> bool:
    """Tell the controller what this event says of the session; False when it could not be
    told (no controller, a refusal), which the hook's answer never depends on."""
    body = session_event(agent, event, session_process(), kind)
    if body is None:
        return False
    try:
        if body["event"] == "activity":
            # On the path of every tool call: sent, not waited for (nor its commit).
            send_json(socket_path, body, timeout=REPORT_TIMEOUT)
        else:
            request_json(socket_path, body, timeout=REPORT_TIMEOUT)
    except (OSError, ValueError, MonitorError):
        return False
    return True
