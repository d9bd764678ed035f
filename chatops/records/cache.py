"""One entry of the task cache (a folder of one task's outputs, as the index knows it), and the
plans that clean it: what a clean would remove and why, and what executing one did."""

from __future__ import annotations

from dataclasses import dataclass, field
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
class PlanItem:
    task_id: str
    agent_type: str
    size: int
    created_at: float
    inode: int
    reason: str
    """``size``, ``age``, ``clear`` or ``delete``."""


@dataclass(frozen=True, slots=True)
class CleanPlan:
    kind: str
    items: tuple[PlanItem, ...]
    total_before: int
    running_kept: int = 0

    @property
    def size(self) -> int:
        return sum(item.size for item in self.items)

    @property
    def oldest(self) -> float | None:
        return min((item.created_at for item in self.items), default=None)

    @property
    def reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.items:
            counts[item.reason] = counts.get(item.reason, 0) + 1
        return counts


@dataclass(slots=True)
class CleanResult:
    """What executing a plan did: removed, and skipped with why (changed since the plan)."""

    plan: CleanPlan
    removed: list[PlanItem] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def freed(self) -> int:
        return sum(item.size for item in self.removed)


@dataclass(frozen=True, slots=True)
class EntryBrief:
    """One entry as the statistics name it (the oldest, the newest, the largest)."""

    task_id: str
    size: int
    created_at: float


@dataclass(frozen=True, slots=True)
class TypeTotals:
    count: int
    size: int


@dataclass(frozen=True, slots=True)
class CacheStats:
    """The cache at a glance: ``/cache stats``, ``chatops cache stats`` and the socket's
    ``get_cache_summary`` (its dict, see ``chatops.api.cache_views.stats_to_dict``)."""

    count: int
    total_size: int
    by_agent_type: dict[str, TypeTotals]
    oldest: EntryBrief | None
    newest: EntryBrief | None
    largest: EntryBrief | None
    auto_clean_enabled: bool
    auto_clean_threshold_mb: float
    warning_threshold_mb: float
    root: str
    """Where a folder to register goes: ``<root>/<task_id>``."""


@dataclass(frozen=True, slots=True)
class PreviewFile:
    name: str
    """Relative to the entry's folder."""
    size: int
    first_lines: tuple[str, ...] | None
    """None for a binary file."""


@dataclass(frozen=True, slots=True)
class EntryPreview:
    """One entry, whether its task runs, and its files' first lines (``/cache preview``)."""

    entry: CacheEntry
    running: bool
    files: tuple[PreviewFile, ...]
