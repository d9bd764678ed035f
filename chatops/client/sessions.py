"""What a hook or a status line needs to speak for the coding-agent session that runs it.

Claude Code and Codex run their hooks and status line as child processes (often through a
shell). The session is the nearest ancestor that is not a shell: the process whose exit ends
the session, and which the controller watches. The controller checks the claim against the
kernel (the connecting process must descend from it), so a hook can speak for its own session
and for nobody else's.

Light on purpose, like :mod:`chatops.client.blocking`: ``json``, ``os`` and ``/proc`` only, so a
hook on every tool call does not pay for the protocol's types.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from chatops.runtime.ancestry import SHELLS, session_process

__all__ = ["SHELLS", "session_body", "session_name", "session_process"]

_NAME_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_NAME = 128


def session_name(agent: str | None, directory: str | None) -> str:
    """The session's name in the fleet: ``--agent`` when given, else its project directory's
    last part (two sessions in one project need ``--agent``). Printable, at most 128 chars."""
    name = agent or (Path(directory).name if directory else "") or "coding-agent"
    name = _NAME_UNSAFE.sub("?", name).strip() or "coding-agent"
    return name[:MAX_NAME]


def session_body(
    agent: str,
    pid: int,
    event: str,
    kind: str,
    **fields: Any,
) -> dict[str, Any]:
    """An ``agent_session`` request as JSON (:class:`chatops.wire.agent_requests.AgentSession`;
    a test holds the two together); fields that are None are left out."""
    body: dict[str, Any] = {
        "type": "agent_session",
        "agent": agent,
        "pid": pid,
        "event": event,
        "kind": kind,
    }
    body.update({key: value for key, value in fields.items() if value is not None})
    return body
