"""Which process a coding agent's hook runs for: the nearest ancestor that is not a shell.

Claude Code and Codex run their hooks and status line as child processes (often through a
shell). The session is the first ancestor that is not a shell or a wrapper: the process whose
exit ends the session. The hook names it, and the controller walks the same way from the hook's
own pid (which the kernel vouches for) to check the claim, so a hook can name its own session
and nothing else.

Light on purpose (``os`` and ``/proc`` only): the hook and the status line load it on every
call.
"""

from __future__ import annotations

import os

SHELLS = frozenset({"sh", "bash", "dash", "zsh", "fish", "ksh", "busybox", "env", "timeout"})
"""Programs between a session and its hook that are not the session: the shell a hook command
runs in, and the wrappers people put in front of commands."""


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


def parent_of(pid: int) -> int | None:
    """``pid``'s parent, or None when ``/proc`` cannot tell."""
    found = _stat(pid)
    return None if found is None else found[1]
