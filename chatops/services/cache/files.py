"""The cache's folders on disk, handled so that nothing escapes the root.

* Task ids are one path component (letters, digits, ``.``, ``_``, ``-``; no leading dot, so the
  manager's own ``.incoming`` and ``.trash`` cannot be named); file names are relative paths of
  such components: no ``..``, no absolute path, no empty part.
* Files are created with ``O_NOFOLLOW | O_EXCL`` inside a private staging folder that is renamed
  into place whole, so a half-written entry never appears.
* A folder is measured without following links (a link counts as nothing, a device or a FIFO
  is not a file of the entry), and deleted without following one: the entry is renamed into
  ``.trash`` (``rename`` acts on the link itself, never its target), then removed with
  ``shutil.rmtree``, which on Linux walks by file descriptor and unlinks links inside the tree
  rather than following them. A link swapped in where an entry's folder was is removed as a
  link; whatever it pointed to is untouched.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from chatops.records.cache import CacheEntry

TASK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
"""Matched whole (``fullmatch``: ``$`` would let a trailing newline through)."""
_PART = re.compile(r"[A-Za-z0-9_.+@=,-][A-Za-z0-9 _.+@=,()\[\]-]{0,254}")
INCOMING = ".incoming"
TRASH = ".trash"
TEXT_SAMPLE = 4096


class CachePathError(ValueError):
    """A task id or a file name that would leave the cache root (or is not a plain name)."""


def check_task_id(task_id: str) -> str:
    if not TASK_ID.fullmatch(task_id) or task_id in (".", ".."):
        raise CachePathError(
            f"task id {task_id!r} must be 1-128 letters, digits, '.', '_' or '-', "
            "not starting with a dot"
        )
    return task_id


def check_file_name(name: str) -> tuple[str, ...]:
    """The name's components; every one a plain name (no ``..``, no leading ``/``)."""
    parts = tuple(name.split("/"))
    if not name or name.startswith("/") or "\\" in name or len(parts) > 8:
        raise CachePathError(f"file name {name!r} must be a relative path of plain names")
    for part in parts:
        if part in (".", "..") or not _PART.fullmatch(part):
            raise CachePathError(f"file name {name!r} has an unsafe part {part!r}")
    return parts


@dataclass(frozen=True, slots=True)
class Measure:
    size: int
    files: int
    mtime_ns: int
    inode: int


def measure(folder: Path) -> Measure:
    """Size and file count of ``folder``'s regular files, links never followed."""
    top = os.lstat(folder)
    if not stat.S_ISDIR(top.st_mode):
        raise CachePathError(f"{folder.name} is not a plain folder")
    size = files = 0
    for base, _dirs, names in os.walk(folder, followlinks=False):
        for name in names:
            info = os.lstat(os.path.join(base, name))
            if stat.S_ISREG(info.st_mode):
                size += info.st_size
                files += 1
    return Measure(size, files, top.st_mtime_ns, top.st_ino)


def folder_state(folder: Path) -> tuple[int, int] | None:
    """(mtime_ns, inode) of a real folder, None if it is gone or is not one (a link)."""
    try:
        info = os.lstat(folder)
    except FileNotFoundError:
        return None
    return (info.st_mtime_ns, info.st_ino) if stat.S_ISDIR(info.st_mode) else None


def write_entry(root: Path, task_id: str, files: dict[str, bytes]) -> Path:
    """Write ``files`` into a staging folder, then rename it to ``root/task_id``; raises
    FileExistsError if the entry exists."""
    check_task_id(task_id)
    staging_root = root / INCOMING
    staging_root.mkdir(mode=0o700, exist_ok=True)
    staging = staging_root / f"{task_id}.{uuid.uuid4().hex[:8]}"
    staging.mkdir(mode=0o700)
    try:
        for name, content in files.items():
            parts = check_file_name(name)
            parent = staging.joinpath(*parts[:-1])
            parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            fd = os.open(parent / parts[-1], flags, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(content)
        target = root / task_id
        if os.path.lexists(target):
            raise FileExistsError(f"cache entry {task_id} already exists")
        os.rename(staging, target)
        return target
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def move_to_trash(root: Path, task_id: str) -> Path | None:
    """Step one of a delete: rename the entry (a folder, or a link swapped in for it: the link
    itself) into ``.trash``. None when nothing is there."""
    source = root / check_task_id(task_id)
    if not os.path.lexists(source):
        return None
    trash = root / TRASH
    trash.mkdir(mode=0o700, exist_ok=True)
    target = trash / f"{task_id}.{uuid.uuid4().hex[:8]}"
    os.rename(source, target)
    return target


def remove(path: Path) -> None:
    """Step two: remove what was moved to the trash, never following a link."""
    if os.path.islink(path) or not os.path.isdir(path):
        os.unlink(path)
        return
    shutil.rmtree(path)


def empty_trash(root: Path) -> int:
    """What a crash left in ``.trash`` and ``.incoming``: removed at start."""
    removed = 0
    for name in (TRASH, INCOMING):
        folder = root / name
        if not folder.is_dir() or folder.is_symlink():
            continue
        for leftover in folder.iterdir():
            remove(leftover)
            removed += 1
    return removed


def read_preview(
    folder: Path, *, max_files: int = 50, lines: int = 5
) -> list[tuple[str, int, list[str] | None]]:
    """(relative name, size, first lines or None for a binary file), links never followed."""
    found: list[tuple[str, int, list[str] | None]] = []
    for base, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not os.path.islink(os.path.join(base, d)))
        for name in sorted(names):
            path = os.path.join(base, name)
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode):
                continue
            relative = os.path.relpath(path, folder)
            found.append((relative, info.st_size, _first_lines(path, lines)))
            if len(found) >= max_files:
                return found
    return found


def _first_lines(path: str, lines: int) -> list[str] | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        sample = handle.read(TEXT_SAMPLE)
    if b"\0" in sample:
        return None
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text.splitlines()[:lines]


@dataclass(slots=True)
class Scan:
    measured: dict[str, Measure] = field(default_factory=dict)
    vanished: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def scan(root: Path, known: dict[str, tuple[int, int, bool]]) -> Scan:
    """One pass over the root (in a thread): finish interrupted deletes, empty the trash,
    measure new and changed folders, list the vanished ones."""
    found = Scan()
    for task_id, (_, _, deleting) in known.items():
        if deleting:
            delete_folders(root, [task_id])
            found.deleted.append(task_id)
    empty_trash(root)
    present: set[str] = set()
    with os.scandir(root) as listing:
        for item in listing:
            if item.name.startswith(".") or not TASK_ID.fullmatch(item.name):
                continue
            present.add(item.name)
            state = folder_state(root / item.name)
            if state is None:
                continue  # a link or a file: not an entry, never followed
            seen = known.get(item.name)
            if seen is None or (seen[0], seen[1]) != state:
                found.measured[item.name] = measure(root / item.name)
    found.vanished = [
        task_id
        for task_id, (_, _, deleting) in known.items()
        if not deleting and (task_id not in present or folder_state(root / task_id) is None)
    ]
    return found


def delete_folders(root: Path, task_ids: list[str]) -> dict[str, str]:
    """Rename each into the trash, then remove it; the reasons of those that failed."""
    failed: dict[str, str] = {}
    for task_id in task_ids:
        try:
            moved = move_to_trash(root, task_id)
            if moved is not None:
                remove(moved)
        except OSError as exc:
            failed[task_id] = f"{type(exc).__name__}: {exc.strerror or exc}"
    return failed


def new_entry(
    task_id: str,
    agent_type: str,
    agent: str | None,
    measured: Measure,
    now: float,
    *,
    preview: str = "",
    finished: bool = False,
) -> CacheEntry:
    """The index's entry for a folder just measured (created now; ``finished``: adopted)."""
    return CacheEntry(
        task_id=task_id,
        agent_type=agent_type,
        agent=agent,
        size=measured.size,
        files=measured.files,
        created_at=now,
        finished_at=now if finished else None,
        preview=preview[:2000],
        mtime_ns=measured.mtime_ns,
        inode=measured.inode,
    )
