"""The cache as JSON: what the socket answers and ``chatops cache --json`` prints (and a plan
read back from it, as ``chatops cache`` renders it)."""

from __future__ import annotations

from typing import Any

from chatops.records.cache import (
    CacheEntry,
    CacheStats,
    CleanPlan,
    CleanResult,
    EntryBrief,
    EntryPreview,
    PlanItem,
)
from chatops.services.cache.plan import MB


def entry_to_dict(entry: CacheEntry, running: bool) -> dict[str, Any]:
    return {
        "task_id": entry.task_id,
        "agent_type": entry.agent_type,
        "agent": entry.agent,
        "size_bytes": entry.size,
        "file_count": entry.files,
        "created_at": entry.created_at,
        "finished_at": entry.finished_at,
        "running": running,
        "preview": entry.preview,
    }


def stats_to_dict(stats: CacheStats) -> dict[str, Any]:
    """The socket's ``get_cache_summary``, the dashboard's ``cache`` and ``chatops cache stats``."""
    return {
        "count": stats.count,
        "total_size_bytes": stats.total_size,
        "total_size_mb": round(stats.total_size / MB, 2),
        "by_agent_type": {
            kind: {"count": sums.count, "size_bytes": sums.size}
            for kind, sums in stats.by_agent_type.items()
        },
        "oldest": _brief(stats.oldest),
        "newest": _brief(stats.newest),
        "largest": _brief(stats.largest),
        "auto_clean_enabled": stats.auto_clean_enabled,
        "auto_clean_threshold_mb": stats.auto_clean_threshold_mb,
        "warning_threshold_mb": stats.warning_threshold_mb,
        "root": stats.root,
    }


def _brief(entry: EntryBrief | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {"task_id": entry.task_id, "size_bytes": entry.size, "created_at": entry.created_at}


def preview_to_dict(preview: EntryPreview) -> dict[str, Any]:
    """The socket's ``cache_preview``."""
    return {
        **entry_to_dict(preview.entry, preview.running),
        "finished": preview.entry.finished,
        "files": [
            {
                "name": item.name,
                "size_bytes": item.size,
                "first_lines": None if item.first_lines is None else list(item.first_lines),
                "binary": item.first_lines is None,
            }
            for item in preview.files
        ],
    }


def plan_to_dict(plan: CleanPlan) -> dict[str, Any]:
    return {
        "kind": plan.kind,
        "count": len(plan.items),
        "size_bytes": plan.size,
        "oldest": plan.oldest,
        "reasons": plan.reasons,
        "running_kept": plan.running_kept,
        "total_before": plan.total_before,
        "items": [
            {
                "task_id": item.task_id,
                "agent_type": item.agent_type,
                "size_bytes": item.size,
                "created_at": item.created_at,
                "inode": item.inode,
                "reason": item.reason,
            }
            for item in plan.items
        ],
    }


def plan_from_dict(plan: dict[str, Any]) -> CleanPlan:
    """The plan :func:`plan_to_dict` wrote, as the socket's ``cache_plan`` answers it."""
    items = tuple(
        PlanItem(
            item["task_id"],
            item["agent_type"],
            item["size_bytes"],
            item["created_at"],
            item["inode"],
            item["reason"],
        )
        for item in plan["items"]
    )
    return CleanPlan(plan["kind"], items, plan["total_before"], plan["running_kept"])


def result_to_dict(result: CleanResult, total_after: int) -> dict[str, Any]:
    return {
        "kind": result.plan.kind,
        "removed": [item.task_id for item in result.removed],
        "freed_bytes": result.freed,
        "skipped": [{"task_id": task_id, "why": why} for task_id, why in result.skipped],
        "total_after": total_after,
    }
