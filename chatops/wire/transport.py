"""Unix-socket listener setup: private permissions and a safe take-over of an old socket path.

Kept apart from the server so a TLS listener for remote agents is one more function here, not a
change to how connections are framed or dispatched.
"""

from __future__ import annotations

import contextlib
import errno
import grp
import os
import socket
import stat
from pathlib import Path

from chatops.paths import ensure_private_dir


class SocketInUseError(RuntimeError):
    """Another live server already listens on the configured path."""


def probe_existing(path: Path) -> None:
    """Refuse a live socket, remove a dead one, and never touch anything that is not a socket."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(info.st_mode):
        raise SocketInUseError(f"{path} exists and is not a socket; refusing to replace it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(str(path))
    except OSError as exc:
        if exc.errno in (errno.ECONNREFUSED, errno.ENOENT):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            return
        raise SocketInUseError(f"cannot probe existing socket {path}: {exc}") from exc
    finally:
        probe.close()
    raise SocketInUseError(f"another chatops monitor is already listening on {path}")


def bind_unix_socket(path: Path, group: str | None = None) -> socket.socket:
    """A listening socket that is 0600 (0660 with ``group``) from the moment it exists."""
    ensure_private_dir(path.parent)
    probe_existing(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177 if group is None else 0o117)
    try:
        sock.bind(str(path))
    except OSError:
        sock.close()
        raise
    finally:
        os.umask(old_umask)
    if group is not None:
        try:
            os.chown(path, -1, grp.getgrnam(group).gr_gid)
        except (KeyError, OSError) as exc:
            sock.close()
            path.unlink(missing_ok=True)
            raise PermissionError(f"cannot give socket {path} to group {group!r}: {exc}") from exc
        os.chmod(path, 0o660)
    else:
        os.chmod(path, 0o600)
    sock.listen(512)
    sock.setblocking(False)
    return sock


def remove_socket(path: Path, inode: int | None) -> None:
    """Remove the socket file only if it is still the one we created."""
    with contextlib.suppress(FileNotFoundError):
        if inode is None or path.lstat().st_ino == inode:
            path.unlink()
