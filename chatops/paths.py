"""Default locations that follow the XDG base directories, never a shared ``/tmp``."""

from __future__ import annotations

import os
from pathlib import Path

APP_DIR = "chatops"


def runtime_dir() -> Path:
    """Per-user runtime directory: ``$XDG_RUNTIME_DIR/chatops`` or the state directory."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base and Path(base).is_dir():
        return Path(base) / APP_DIR
    return state_dir()


def state_dir() -> Path:
    """Per-user state directory: ``$XDG_STATE_HOME/chatops``, default ``~/.local/state/chatops``."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / APP_DIR


def config_dir() -> Path:
    """Per-user config directory: ``$XDG_CONFIG_HOME/chatops``, default ``~/.config/chatops``."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / APP_DIR


def default_socket_path() -> Path:
    return runtime_dir() / "monitor.sock"


def default_database_path() -> Path:
    return state_dir() / "chatops.db"


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (mode 0700) if needed and refuse a directory others may write into.

    A world-writable directory, or one owned by another user, would let someone else replace
    our socket or database with a link of theirs, so either is an error rather than a warning.
    """
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = path.stat()
    if info.st_mode & 0o002:
        raise PermissionError(f"{path} is world-writable; choose a private directory")
    if info.st_uid != os.geteuid():
        raise PermissionError(
            f"{path} belongs to uid {info.st_uid}, not to this user ({os.geteuid()}); "
            "choose a directory of your own"
        )


class NoDatabase(FileNotFoundError):
    """There is no database file to read: the controller never ran with this configuration
    (or it points elsewhere). Not an empty fleet: there is nothing to read at all."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"there is no database at {path} (has the controller run with it?)")
        self.path = path
