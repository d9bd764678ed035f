"""One restart in flight, and the report of how it ended.

A restart has come back only when a *new process* registers the bot: a new pid, or the same pid
once the old process is known to be gone (a bot in a container is pid 1 after every restart).
The same process registering again is not a restart, however it arrives: a late duplicate of
its own registration (the client library registers on connecting and when asked, and under
load the second can land while the restart waits), or a reconnect on a new connection. For a
local bot the process's start time tells the two apart; for a remote one, a new connection
after the old one was seen to close is as much as the controller can know.

Every front end (``chatops restart``, ``/recover restart``, the bot's events) shows the same
:attr:`RestartReport.summary`: the outcome, how it was tried, and why it ended so.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import psutil

Outcome = Literal["restarted", "not_back", "not_restarted"]
OUTCOME_WORDS: dict[Outcome, str] = {
    "restarted": "restarted",
    "not_back": "did not come back",
    "not_restarted": "not restarted",
}


@dataclass(frozen=True, slots=True)
class RestartReport:
    channel: str
    outcome: Outcome
    """``restarted`` (a new process registered), ``not_back`` (something was done, but no new
    process registered within ``restart_wait``) or ``not_restarted`` (nothing could be done, or
    the way tried failed; nothing was waited for)."""
    method: str
    """``control``, ``command``, ``signal``, ``spawn`` or ``none``."""
    reason: str
    old_pid: int | None = None
    new_pid: int | None = None
    output: str = ""
    seconds: float = 0.0

    @property
    def restarted(self) -> bool:
        return self.outcome == "restarted"

    @property
    def summary(self) -> str:
        """The one line every front end shows: the outcome, how, and why."""
        how = "" if self.method == "none" else f" ({self.method})"
        return f"{OUTCOME_WORDS[self.outcome]}{how}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        """The ``restart_bot`` reply's members (no ``ok``: that is the reply's own)."""
        return {**asdict(self), "restarted": self.restarted, "summary": self.summary}


def start_time(pid: int | None) -> float | None:
    """When the process ``pid`` started, or None when it is gone or cannot be read."""
    if pid is None:
        return None
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


@dataclass(slots=True)
class Attempt:
    """What a restart in flight has seen of its bot since it began."""

    by: str
    old_pid: int | None
    old_start: float | None
    """The old process's start time (a local bot whose process was running), to tell a new
    process with the same pid from the same process registering again."""
    local: bool
    stopped: str | None
    """Why the old process is known to be gone (its connection closed, its pid exited, it was
    down already), or None while it may still run."""
    began: float
    """On the injected clock, to recognise a registration the fleet did not announce."""
    child: asyncio.subprocess.Process | None = None
    """The process chatops ran for the bot when the restart began (its exit is the stop the
    restart asked for), if any."""
    back_pid: int | None = None
    same_process: int | None = None
    """A pid that registered again as the same process (not a restart)."""
    failed: str | None = None
    """Why it ended before its wait (a child that exited before registering)."""
    exit_code: int | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def saw_stop(self, reason: str) -> None:
        if self.stopped is None:
            self.stopped = reason

    def saw_registration(self, pid: int) -> None:
        """The bot registered as ``pid`` (the fleet announces a registration that changed
        something: a new pid, or a new connection)."""
        if self._new_process(pid):
            self.back_pid = pid
            self.done.set()
        else:
            self.same_process = pid

    def fail(self, reason: str, exit_code: int | None = None) -> None:
        self.failed, self.exit_code = reason, exit_code
        self.done.set()

    def _new_process(self, pid: int) -> bool:
        if pid != self.old_pid:
            return True
        if self.stopped is None:
            return False  # the old process was never seen to go
        if not self.local or self.old_start is None:
            return True  # gone, and nothing more can be known of a remote (or vanished) one
        started = start_time(pid)
        return started is not None and started != self.old_start

    def why_not_back(self, wait: float, alive_now: bool) -> str:
        """Why no new process came, for the report."""
        if self.failed is not None:
            return self.failed
        same = (
            f"pid {self.same_process} registered again but is the same process: it did not "
            f"restart (waited {wait:g}s)"
        )
        if self.same_process is not None and alive_now:
            return same
        if self.stopped is not None:
            return f"it stopped ({self.stopped}) and did not register again within {wait:g}s"
        if self.same_process is not None:
            return same
        return f"it did not stop or register again within {wait:g}s"
