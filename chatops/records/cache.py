"""One entry of the task cache: a folder of one task's outputs, as the index knows it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chatops.timeutil import to_sqlite


@dataclass(slots=True, eq=False)
class CacheEntry:
    task_id: str
    agent_type: str
    size: int
    files: int
    created_at: float
    mtime_ns: int
    inode: int
    agent: str | None = None
    finished_at: float | None = None
    preview: str = ""
    deleting: bool = False

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    def row(self) -> tuple[Any, ...]:
        return (
            self.task_id,
            self.agent_type,
            self.agent,
            self.size,
            self.files,
            to_sqlite(self.created_at),
            None if self.finished_at is None else to_sqlite(self.finished_at),
            self.preview,
            self.mtime_ns,
            self.inode,
            int(self.deleting),
        )


@dataclass(frozen=True, slots=True)
class PreviewFile:
    name: str
    """Relative to the entry's folder."""
    size: int
    first_lines: list[str] | None
    """None for a binary file."""


@dataclass(frozen=True, slots=True)
class EntryPreview:
    """An entry, whether its task still runs, and its files' first lines."""

    entry: CacheEntry
    running: bool
    files: list[PreviewFile]
