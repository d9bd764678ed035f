"""Clean plans: what a clean would remove and why, computed before anything is removed, so it
can be shown (``/cache clean``, ``chatops cache clean``) and then executed exactly.

* by size (auto-clean): over the threshold, the oldest finished entries go first until the
  total is under it; the ``keep_count`` newest entries always stay;
* by age: finished entries older than ``max_age_days``;
* clean (``/cache clean``, ``chatops cache clean``, the scheduled auto-clean): by age, then by
  size over what is left;
* clear: every entry that is not running.

An entry whose task is still running (not finished, its agent online) is never in a plan; a
forced delete or clear, by hand, is the only way to remove one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from chatops.records.cache import CacheEntry, CleanPlan, PlanItem

MB = 1_048_576


def item(entry: CacheEntry, reason: str) -> PlanItem:
    return PlanItem(
        entry.task_id, entry.agent_type, entry.size, entry.created_at, entry.inode, reason
    )


def by_size(
    entries: Iterable[CacheEntry],
    total: int,
    threshold_bytes: float,
    keep_count: int,
    running: Callable[[CacheEntry], bool],
) -> CleanPlan:
    ordered = sorted(entries, key=lambda e: (e.created_at, e.task_id))
    candidates = ordered[: max(0, len(ordered) - keep_count)]
    chosen: list[PlanItem] = []
    left = total
    running_kept = 0
    for entry in candidates:
        if left <= threshold_bytes:
            break
        if entry.deleting:
            continue
        if running(entry):
            running_kept += 1
            continue
        chosen.append(item(entry, "size"))
        left -= entry.size
    return CleanPlan("auto_clean", tuple(chosen), total, running_kept)


def by_age(
    entries: Iterable[CacheEntry],
    total: int,
    cutoff: float,
    running: Callable[[CacheEntry], bool],
) -> CleanPlan:
    chosen, running_kept = _oldest_first(
        entries, running, "age", until=lambda entry: entry.created_at >= cutoff
    )
    return CleanPlan("cleanup_old_entries", chosen, total, running_kept)


def everything(
    entries: Iterable[CacheEntry],
    total: int,
    running: Callable[[CacheEntry], bool],
    *,
    force: bool,
) -> CleanPlan:
    chosen, running_kept = _oldest_first(entries, running, "clear", force=force)
    return CleanPlan("clear_all_cache", chosen, total, running_kept)


def _oldest_first(
    entries: Iterable[CacheEntry],
    running: Callable[[CacheEntry], bool],
    reason: str,
    *,
    until: Callable[[CacheEntry], bool] = lambda entry: False,
    force: bool = False,
) -> tuple[tuple[PlanItem, ...], int]:
    """Every entry, oldest first, up to the first one ``until`` stops at; entries being
    deleted are passed over, running ones kept (and counted) unless ``force``."""
    chosen: list[PlanItem] = []
    running_kept = 0
    for entry in sorted(entries, key=lambda e: (e.created_at, e.task_id)):
        if until(entry):
            break
        if entry.deleting:
            continue
        if running(entry) and not force:
            running_kept += 1
            continue
        chosen.append(item(entry, reason))
    return tuple(chosen), running_kept


def by_age_then_size(
    entries: Iterable[CacheEntry],
    total: int,
    cutoff: float,
    threshold_bytes: float,
    keep_count: int,
    running: Callable[[CacheEntry], bool],
) -> CleanPlan:
    """What a clean removes: every finished entry past its age, then, if the rest is still
    over the threshold, the oldest until it is under (the newest ``keep_count`` kept)."""
    entries = list(entries)
    old = by_age(entries, total, cutoff, running)
    gone = {item.task_id for item in old.items}
    rest = [entry for entry in entries if entry.task_id not in gone]
    sized = by_size(rest, total - old.size, threshold_bytes, keep_count, running)
    return CleanPlan(
        "clean",
        old.items + sized.items,
        total,
        max(old.running_kept, sized.running_kept),
    )


def shown(
    kind: str,
    planned: Iterable[tuple[str, int]],
    entries: Mapping[str, CacheEntry],
    total: int,
) -> CleanPlan:
    """A plan shown earlier, back from its ``(task id, inode)`` pairs: executing it removes
    those entries that are unchanged (an entry gone or replaced since is skipped then, never
    swapped for another), whatever a fresh plan would say now."""
    items = []
    for task_id, inode in planned:
        entry = entries.get(task_id)
        size, created, agent_type = (
            (entry.size, entry.created_at, entry.agent_type) if entry else (0, 0.0, "?")
        )
        items.append(PlanItem(task_id, agent_type, size, created, inode, "planned"))
    return CleanPlan(kind, tuple(items), total)
