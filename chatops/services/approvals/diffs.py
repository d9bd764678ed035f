"""What an action changes in a file, as a unified diff: the approver judges an edit by what it
changes, not by the whole new text.

Data with ``old_string``/``new_string`` (an Edit-style request) is the diff of those two. A
``file_write`` whose ``file_path`` names an existing file inside the workspace is the diff of
that file's current text against the new ``content``. The workspace is the one the policy uses
(``approvals.workspace_root``, else the action's own absolute ``cwd``, see
:mod:`.policy`): the real path, symlinks resolved, must stay inside it, or nothing is read — a
prompt must never become a way to read a file the agent could not write. Only a regular text
file of at most :data:`MAX_READ` bytes is read, and never when the request carries only the
start of its content (``file_size`` larger than it): the rest would show as deleted.

Everything here is pure but for that one bounded read; the result is masked
(:func:`.preview.mask_secrets`) before anyone sees or stores it.
"""

from __future__ import annotations

import difflib
import os
import stat
from pathlib import Path
from typing import Any

from chatops.services.approvals.policy import workspace_from
from chatops.services.approvals.preview import mask_secrets

MAX_READ = 1_048_576
"""The largest file read for a diff (1 MiB): a larger one is described, not diffed."""
CONTEXT = 3


def action_diff(
    data: dict[str, Any], workspace_root: Path | None, *, reader_uid: int | None = None
) -> str:
    """The unified diff of what the action changes, masked; "" when there is nothing to show
    (a command, a new file, a file outside the workspace, one too large or not text, one the
    asking agent's user ``reader_uid`` could not have read: see :func:`read_in_workspace`)."""
    path = data.get("file_path")
    name = path if isinstance(path, str) and path else "file"
    old, new = data.get("old_string"), data.get("new_string")
    if isinstance(old, str) and isinstance(new, str):
        return mask_secrets(unified(old, new, name))
    content = data.get("content")
    if not isinstance(content, str) or not isinstance(path, str) or not path:
        return ""
    size = data.get("file_size")
    if isinstance(size, int | float) and size > len(content.encode()):
        return ""  # only the start of the content was sent
    root = workspace_root or workspace_from(data.get("cwd"))
    current = read_in_workspace(path, root, reader_uid=reader_uid)
    if current is None or current == content:
        return ""
    return mask_secrets(unified(current, content, name))


def unified(old: str, new: str, name: str) -> str:
    """``difflib.unified_diff`` of two texts as one string, lines ending in newlines."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"a/{name.lstrip('/')}",
        tofile=f"b/{name.lstrip('/')}",
        n=CONTEXT,
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def read_in_workspace(path: str, root: Path | None, *, reader_uid: int | None) -> str | None:
    """The text of ``path`` when it is a regular file inside ``root`` once every symlink is
    resolved, at most :data:`MAX_READ` bytes and valid UTF-8; else None (and nothing read).

    The controller reads as its own user, and the diff goes back to whoever lists approvals:
    so only for an agent of the controller's own user (``reader_uid``, as the kernel vouched)
    or a file that agent's user owns. An agent of another user (through ``socket_group``)
    cannot make a prompt read the operator's files for it."""
    if root is None or "\0" in path or reader_uid is None:
        return None
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(real_root / os.path.expanduser(path)))
    if real == real_root or real_root not in real.parents:
        return None
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_READ:
            return None
        if reader_uid != os.geteuid() and info.st_uid != reader_uid:
            return None
        raw = os.read(fd, MAX_READ + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(raw) > MAX_READ or b"\0" in raw:
        return None
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return None


def clip_diff(diff: str, limit: int) -> str:
    """The first lines of ``diff`` that fit in ``limit`` characters with a ``… N more lines``
    marker after them: where a medium caps the length (a Discord embed field)."""
    if len(diff) <= limit:
        return diff
    lines = diff.splitlines(keepends=True)
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        marker = f"… {len(lines) - index} more lines\n"
        if used + len(line) + len(marker) > limit:
            break
        kept.append(line)
        used += len(line)
    rest = len(lines) - len(kept)
    if not kept:  # one line longer than the room: its start
        return diff[: max(0, limit - 24)] + f"…\n… {rest} more lines\n"
    return "".join(kept) + f"… {rest} more lines\n"
