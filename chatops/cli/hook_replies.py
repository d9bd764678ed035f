"""``chatops hook claude-code --wait-reply SECONDS``: a finished session waits for its
operator's words.

On ``Stop`` (and only there), once the session is reported finished, the hook asks the
controller for a reply (``await_reply``) and waits up to SECONDS. When the operator answers
(Discord's Reply button or ``/agent reply``, ``chatops agents reply`` from a shell), the hook
prints Claude Code's documented block answer::

    {"decision": "block", "reason": "<the operator's words>"}

and Claude Code goes on with those words instead of stopping. No reply in time: no output,
exit 0, and the session stops as it would have.

Claude Code sets ``stop_hook_active`` on a ``Stop`` that follows a block. The controller
counts the replies handed to a session in a row (reset by a ``Stop`` without the flag) and
answers at once with nothing once ``--max-replies`` is reached: a hook never blocks more than
that many times in a row, and the count is not a file the agent could rewrite.

Anything that goes wrong (no controller, a refusal, a garbled answer) is no output: a hook
must never block by accident. Light like the rest of the hook: ``json`` and a socket.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chatops.cli.hook_events import agent_name
from chatops.client.blocking import MonitorError, request_json
from chatops.client.sessions import session_process
from chatops.records.replies import MAX_REPLY_WAIT

STOP_EVENT = "Stop"
"""The controller's bound on one wait (``await_reply``'s ``timeout``)."""
SOCKET_MARGIN = 10.0
"""The socket waits this much longer than the reply: the controller's "no reply" answer (sent
when the wait ends) arrives before the socket gives up."""


def await_reply_body(
    agent: str, pid: int, seconds: float, event: dict[str, Any], max_replies: int
) -> dict[str, Any]:
    """An ``await_reply`` as the protocol spells it in JSON
    (:class:`chatops.wire.agent_requests.AwaitReply`; a test holds the two together)."""
    body: dict[str, Any] = {
        "type": "await_reply",
        "agent": agent,
        "pid": pid,
        "timeout": min(seconds, MAX_REPLY_WAIT),
        "continued": event.get("stop_hook_active") is True,
        "max_replies": max_replies,
    }
    session_id = event.get("session_id")
    if isinstance(session_id, str) and 0 < len(session_id) <= 128:
        body["session_id"] = session_id
    return body


def block_answer(text: str) -> dict[str, Any]:
    """Claude Code's answer that keeps the session going with ``text`` as its next words."""
    return {"decision": "block", "reason": text}


def wait_for_reply(
    socket_path: Path,
    agent: str | None,
    event: dict[str, Any],
    seconds: float,
    max_replies: int,
) -> dict[str, Any] | None:
    """The block answer carrying the operator's reply, or None (no reply, or any trouble)."""
    if event.get("hook_event_name") != STOP_EVENT or seconds <= 0 or max_replies <= 0:
        return None
    body = await_reply_body(
        agent_name(agent, event), session_process(), seconds, event, max_replies
    )
    try:
        reply = request_json(socket_path, body, timeout=body["timeout"] + SOCKET_MARGIN)
    except (OSError, ValueError, MonitorError):
        return None
    text = reply.get("reply")
    if not isinstance(text, str) or not text.strip():
        return None
    return block_answer(text)
