"""One database, one controller: an exclusive ``flock`` on ``<database>.lock``, taken before
the controller touches the database or the socket.

Two controllers on one database (each with its own socket path) would each take the other's
bots for theirs: the second marks the first's live bots down and sends false critical alerts.
The kernel drops an ``flock`` when its holder dies, however it dies, so a crash never leaves a
stale lock. The file stays in place (unlinking it would let two controllers lock two files of
the same name) and holds its holder's pid, which the refused controller names.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path

PID_WAIT = 1.0
"""How long a refused controller waits for the holder to write its pid (it locks first)."""


class ControllerLocked(RuntimeError):
    """Another live controller holds the database's lock."""

    def __init__(self, pid: int | None, database: Path) -> None:
        who = f"pid {pid}" if pid is not None else "pid unknown"
        super().__init__(f"another controller ({who}) is using {database}")
        self.pid = pid
        self.database = database


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


class ControllerLock:
    """The held lock: an open file description (not inherited by the bots the controller
    starts: ``os.open`` makes it non-inheritable), released by :meth:`release` or by exit."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, database: Path) -> ControllerLock:
        """Lock ``database``'s lock file (mode 0600) and write our pid in it; raise
        :class:`ControllerLocked` naming the holder when another controller has it."""
        path = lock_path(database)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot open the lock file {path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise ControllerLocked(holder, database) from None
        except OSError:
            os.close(fd)
            raise
        with contextlib.suppress(OSError):  # a file another user made stays as it is
            os.fchmod(fd, 0o600)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            os.close(fd)  # unlocks: a controller that cannot say who holds it does not hold it
            raise
        return cls(fd, path)

    def release(self) -> None:
        """Forget our pid, then unlock (closing the file drops the lock)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)


def _holder(fd: int) -> int | None:
    """The pid the holder wrote; it locks before it writes, so a moment is allowed for it."""
    deadline = time.monotonic() + PID_WAIT
    while True:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        if text.isdigit():
            return int(text)
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.02)
