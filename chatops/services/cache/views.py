"""The cache as JSON: what the socket answers and ``chatops cache --json`` prints (and a plan
read back from it, as ``chatops cache`` renders it)."""

from __future__ import annotations

from typing import Any

from chatops.records.cache import CacheEntry
from chatops.services.cache.plan import CleanPlan, CleanResult, PlanItem


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
