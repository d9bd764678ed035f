"""The cache at a glance, from the index the manager keeps: counts and sizes by agent type, the
oldest, newest and largest entries, and the thresholds they are measured against."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from chatops.config.cache import CacheConfig
from chatops.records.cache import CacheEntry, CacheStats, EntryBrief, TypeTotals


def statistics(
    live: Sequence[CacheEntry],
    total: int,
    by_type: Mapping[str, Sequence[int]],
    config: CacheConfig,
    root: Path,
) -> CacheStats:
    """``live``: the entries not being deleted; ``by_type``: ``[count, size]`` per agent type."""
    oldest = min(live, key=lambda e: e.created_at, default=None)
    newest = max(live, key=lambda e: e.created_at, default=None)
    largest = max(live, key=lambda e: e.size, default=None)
    return CacheStats(
        count=len(live),
        total_size=total,
        by_agent_type={
            kind: TypeTotals(count, size)
            for kind, (count, size) in sorted(by_type.items())
            if count
        },
        oldest=_brief(oldest),
        newest=_brief(newest),
        largest=_brief(largest),
        auto_clean_enabled=config.auto_clean_enabled,
        auto_clean_threshold_mb=config.auto_clean_threshold_mb,
        warning_threshold_mb=config.warning_threshold_mb,
        root=str(root),
    )


def _brief(entry: CacheEntry | None) -> EntryBrief | None:
    return None if entry is None else EntryBrief(entry.task_id, entry.size, entry.created_at)
