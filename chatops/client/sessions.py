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

import os
import re
from pathlib import Path
from typing import Any

SHELLS = frozenset({"sh", "bash", "dash", "zsh", "fish", "ksh", "busybox", "env", "timeout"})
"""Programs between a session and its hook that are not the session: the shell a hook command
runs in, and the wrappers people put in front of commands."""

_NAME_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_NAME = 128


def _stat(pid: int) -> tuple[str, int] | None:
    """``pid``'s command name and parent pid from ``/proc/PID/stat``; None when unreadable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            raw = stat.read()
    except OSError:
        return None
    open_paren, close_paren = raw.find(b"("), raw.rfind(b")")
    fields = raw[close_paren + 2 :].split()
    try:
        return raw[open_paren + 1 : close_paren].decode(errors="replace"), int(fields[1])
    except (IndexError, ValueError):
        return None


def _runs_a_shell(pid: int) -> bool:
    """True when ``pid``'s program is a shell whatever its name: a wrapper script with a
    ``#!/bin/sh`` line is named after the script, but the kernel runs the shell."""
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe")) in SHELLS
    except OSError:
        return False


def session_process(start: int | None = None) -> int:
    """The session's pid: the nearest ancestor of ``start`` (default: this process's parent)
    that is not a shell or a wrapper (by its name, or by the program a script runs in). Falls
    back to the parent when ``/proc`` cannot tell."""
    parent = os.getppid() if start is None else start
    pid = parent
    for _ in range(32):  # a chain of wrappers is short; a loop in /proc cannot hold us
        found = _stat(pid)
        if found is None:
            return parent
        comm, ppid = found
        if (comm not in SHELLS and not _runs_a_shell(pid)) or ppid <= 1:
            return pid
        pid = ppid
    return parent


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
