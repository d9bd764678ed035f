"""Learn the moment a local process exits, without polling.

On Linux a pidfd becomes readable when its process terminates, so the loop wakes us exactly
then. Where pidfds are unavailable the fleet's reap job falls back to :func:`pid_alive`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable

import psutil

log = logging.getLogger(__name__)


def pid_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


class PidWatcher:
    def __init__(self, on_exit: Callable[[int], None]) -> None:
        self._on_exit = on_exit
        self._fds: dict[int, int] = {}

    @property
    def supported(self) -> bool:
        return hasattr(os, "pidfd_open")

    def watch(self, pid: int) -> bool:
        """Start watching ``pid``; False when it cannot be watched (gone already, or no pidfd)."""
        if pid in self._fds:
            return True
        if not self.supported:
            return False
        try:
            fd = os.pidfd_open(pid)
        except OSError:
            return False
        self._fds[pid] = fd
        asyncio.get_running_loop().add_reader(fd, self._exited, pid)
        return True

    def unwatch(self, pid: int) -> None:
        fd = self._fds.pop(pid, None)
        if fd is None:
            return
        with contextlib.suppress(Exception):
            asyncio.get_running_loop().remove_reader(fd)
        os.close(fd)

    def close(self) -> None:
        for pid in list(self._fds):
            self.unwatch(pid)

    def _exited(self, pid: int) -> None:
        self.unwatch(pid)
        try:
            self._on_exit(pid)
        except Exception:
            log.exception("pid exit handler failed for %d", pid)
