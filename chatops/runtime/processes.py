"""What the kernel says about a process: whether it descends from another, and where it stands
in job control (session, process group, terminal). Ownership and approvals rest on these."""

from __future__ import annotations

import os
from dataclasses import dataclass

import psutil


def is_self_or_descendant(pid: int, ancestor: int) -> bool:
    """True when ``pid`` is ``ancestor`` or one of its descendants (a supervisor may register
    the workers it spawned, but not an unrelated process)."""
    if pid == ancestor:
        return True
    try:
        return any(parent.pid == ancestor for parent in psutil.Process(pid).parents())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


@dataclass(frozen=True, slots=True)
class ProcessIds:
    """Where a process stands in the kernel's job control: its session, its process group and
    whether it has a controlling terminal. A detached process (``setsid``, a double fork) leaves
    its parent's tree, but keeps its session unless it calls ``setsid``, and then has no
    terminal: these ids are what tell an operator's shell from an agent's escape."""

    pid: int
    sid: int
    pgid: int
    terminal: bool


def process_ids(pid: int) -> ProcessIds | None:
    """``pid``'s ids, read from ``/proc/PID/stat`` (one read, Linux) or the portable calls; None
    when the process is gone or cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            raw = stat.read()
    except FileNotFoundError:
        return None if os.path.isdir("/proc/self") else _portable_ids(pid)
    except OSError:
        return None
    # "pid (comm) state ppid pgrp session tty_nr ...": comm may hold spaces and parentheses.
    fields = raw[raw.rfind(b")") + 2 :].split()
    try:
        pgid, sid, tty_nr = int(fields[2]), int(fields[3]), int(fields[4])
    except (IndexError, ValueError):
        return None
    return ProcessIds(pid=pid, sid=sid, pgid=pgid, terminal=tty_nr != 0)


def _portable_ids(pid: int) -> ProcessIds | None:
    try:
        return ProcessIds(
            pid=pid,
            sid=os.getsid(pid),
            pgid=os.getpgid(pid),
            terminal=psutil.Process(pid).terminal() is not None,
        )
    except (OSError, psutil.Error):
        return None
