"""``chatops cache stats|list|preview|clean|clear|autoclean|delete``: the task cache from a
shell, as ``/cache`` has it.

Through the running controller when there is one (its index is the live one), else straight
from the database and the cache folder. ``clean`` (by age, then by size), ``autoclean`` (by size,
as the scheduled auto-clean), ``clear`` and ``delete TASK_ID`` print the plan and ask before
deleting anything, unless ``--yes``; ``--dry-run`` only prints it. What is deleted is exactly
the plan that was shown: an entry that changed since is skipped. A refusal (an unknown entry, a
running one without ``--force``) is one line and exit 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from chatops.cli.asking import EXIT_REFUSED, EXIT_UNREACHABLE
from chatops.cli.prompts import confirm
from chatops.client.blocking import MonitorError, request
from chatops.config import Settings
from chatops.presentation.cache import plan_text, result_text
from chatops.presentation.formatting import (
    describe_duration,
    plural,
    size_text,
    terminal_text,
)
from chatops.presentation.markup import TERMINAL
from chatops.records.cache import CleanPlan
from chatops.services.errors import DomainError
from chatops.wire.protocol import (
    CacheExecute,
    CacheList,
    CachePlan,
    CachePreview,
    GetCacheSummary,
    PlannedEntry,
)

CHUNK = 1000


def cache_command(settings: Settings, args: argparse.Namespace) -> int:
    host = getattr(args, "host", None)
    try:
        backend: Backend = SocketBackend(settings, host)
    except OSError:
        if host is not None:
            print(
                f"chatops: {host}'s cache is cleaned through the running hub, which does not "
                f"answer on {settings.monitoring.socket_path}",
                file=sys.stderr,
            )
            return EXIT_UNREACHABLE
        if not settings.monitoring.database_path.exists():
            print("The cache is empty: the controller has never run with this configuration.")
            return EXIT_REFUSED if args.cache_command in ("preview", "delete") else 0
        backend = LocalBackend(settings)
    try:
        return _run(backend, args)
    except (MonitorError, DomainError) as exc:  # the controller's refusal, or the files'
        print(f"chatops: refused: {terminal_text(str(exc))}", file=sys.stderr)
        return EXIT_REFUSED


def _run(backend: Backend, args: argparse.Namespace) -> int:
    now = time.time()
    if args.cache_command == "stats":
        stats = backend.stats()
        print(json.dumps(stats, indent=2) if args.json else format_stats(stats, now))
        return 0
    if args.cache_command == "list":
        entries = backend.entries()
        print(json.dumps(entries, indent=2) if args.json else format_entries(entries, now))
        return 0
    if args.cache_command == "preview":
        found = backend.preview(args.task_id, args.lines)
        print(json.dumps(found, indent=2) if args.json else format_preview(found, now))
        return 0
    force = bool(getattr(args, "force", False))
    task_id = getattr(args, "task_id", None)
    plan = backend.plan(KINDS[args.cache_command], task_id, force)
    print(format_plan(plan, now))
    if not plan.items or getattr(args, "dry_run", False):
        return 0
    if not args.yes and not confirm(
        f"Delete {plural(len(plan.items), 'entry')} ({size_text(plan.size)})?"
    ):
        print("Nothing deleted.")
        return 0
    result = backend.execute(plan, force)
    skipped = [(item["task_id"], item["why"]) for item in result["skipped"]]
    print(
        result_text(
            len(result["removed"]),
            result["freed_bytes"],
            result["total_after"],
            skipped,
            TERMINAL,
            names=50,
        )
    )
    return 0


KINDS = {
    "clean": "clean",
    "clear": "clear_all_cache",
    "autoclean": "auto_clean",
    "delete": "delete_cache_entry",
}
"""Each command's plan, by the kind the socket's ``cache_plan`` names."""


class Backend:
    def stats(self) -> dict[str, Any]:
        raise NotImplementedError

    def entries(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def preview(self, task_id: str, lines: int) -> dict[str, Any]:
        raise NotImplementedError

    def plan(self, kind: str, task_id: str | None = None, force: bool = False) -> CleanPlan:
        raise NotImplementedError

    def execute(self, plan: CleanPlan, force: bool = False) -> dict[str, Any]:
        raise NotImplementedError


class SocketBackend(Backend):
    """The running controller; raises OSError at construction when there is none."""

    def __init__(self, settings: Settings, host: str | None = None) -> None:
        self._socket = settings.monitoring.socket_path
        self._host = host
        """On a hub: plans and cleans are that edge's."""
        self._summary = request(self._socket, GetCacheSummary(), timeout=5.0)

    def stats(self) -> dict[str, Any]:
        return {k: v for k, v in self._summary.items() if k not in ("id", "ok")}

    def entries(self) -> list[dict[str, Any]]:
        return list(request(self._socket, CacheList(limit=1000), timeout=10.0)["entries"])

    def preview(self, task_id: str, lines: int) -> dict[str, Any]:
        reply = request(self._socket, CachePreview(task_id=task_id, lines=lines), timeout=30.0)
        return {k: v for k, v in reply.items() if k not in ("id", "ok")}

    def plan(self, kind: str, task_id: str | None = None, force: bool = False) -> CleanPlan:
        from chatops.api.cache_views import plan_from_dict

        message = CachePlan(kind=kind, task_id=task_id, force=force, host=self._host)  # type: ignore[arg-type]
        return plan_from_dict(request(self._socket, message, timeout=30.0))

    def execute(self, plan: CleanPlan, force: bool = False) -> dict[str, Any]:
        total: dict[str, Any] = {"removed": [], "freed_bytes": 0, "skipped": [], "total_after": 0}
        for start in range(0, len(plan.items), CHUNK):
            planned = [
                PlannedEntry(task_id=i.task_id, inode=i.inode)
                for i in plan.items[start : start + CHUNK]
            ]
            reply = request(
                self._socket,
                CacheExecute(kind=plan.kind, items=planned, force=force, host=self._host),  # type: ignore[arg-type]
                timeout=120.0,
            )
            total["removed"] += reply["removed"]
            total["freed_bytes"] += reply["freed_bytes"]
            total["skipped"] += reply["skipped"]
            total["total_after"] = reply["total_after"]
        return total


class LocalBackend(Backend):
    """No controller running: the same manager, on the database and the folder directly."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def _with_manager(self, work: Callable[[Any], Any]) -> Any:
        from chatops.services.offline import with_cache_manager

        async def run(manager: Any) -> Any:
            result = work(manager)
            return await result if asyncio.iscoroutine(result) else result

        settings = self._settings
        return asyncio.run(
            with_cache_manager(
                settings.monitoring.database_path, settings.cache, settings.cache_root, run
            )
        )

    def stats(self) -> dict[str, Any]:
        from chatops.api.cache_views import stats_to_dict

        stats: dict[str, Any] = self._with_manager(lambda m: stats_to_dict(m.statistics()))
        return stats

    def entries(self) -> list[dict[str, Any]]:
        from chatops.api.cache_views import entry_to_dict

        return list(
            self._with_manager(lambda m: [entry_to_dict(e, False) for e in m.get_cache_entries()])
        )

    def preview(self, task_id: str, lines: int) -> dict[str, Any]:
        from chatops.api.cache_views import preview_to_dict

        async def read(manager: Any) -> dict[str, Any]:
            return preview_to_dict(await manager.preview_cache_entry(task_id, lines))

        found: dict[str, Any] = self._with_manager(read)
        return found

    def plan(self, kind: str, task_id: str | None = None, force: bool = False) -> CleanPlan:
        def make(manager: Any) -> CleanPlan:
            if kind == "delete_cache_entry":
                return manager.plan_delete(task_id, force=force)  # type: ignore[no-any-return]
            if kind == "auto_clean":
                return manager.plan_auto_clean()  # type: ignore[no-any-return]
            clean: CleanPlan = manager.plan_clean() if kind == "clean" else manager.plan_clear()
            return clean

        plan: CleanPlan = self._with_manager(make)
        return plan

    def execute(self, plan: CleanPlan, force: bool = False) -> dict[str, Any]:
        from chatops.api.cache_views import result_to_dict

        async def run(manager: Any) -> dict[str, Any]:
            result = await manager.execute(plan, force=force)  # each checked again, as planned
            return result_to_dict(result, manager.total)

        result: dict[str, Any] = self._with_manager(run)
        return result


def format_stats(stats: dict[str, Any], now: float) -> str:
    lines = [
        f"{plural(stats['count'], 'entry')}, {size_text(stats['total_size_bytes'])} "
        f"(auto-clean {'on' if stats['auto_clean_enabled'] else 'off'} over "
        f"{stats['auto_clean_threshold_mb']:g} MB, "
        f"warning over {stats['warning_threshold_mb']:g} MB)"
    ]
    for kind, sums in stats["by_agent_type"].items():
        lines.append(f"  {terminal_text(kind)}: {sums['count']}, {size_text(sums['size_bytes'])}")
    for host, sums in stats.get("hosts", {}).items():
        lines.append(
            f"  on {terminal_text(host)}: {plural(sums['count'], 'entry')}, "
            f"{size_text(sums['size_bytes'])}"
        )
    for key in ("oldest", "largest", "newest"):
        brief = stats.get(key)
        if brief:
            age = describe_duration(now - brief["created_at"])
            lines.append(
                f"{key}: {terminal_text(brief['task_id'])} ({size_text(brief['size_bytes'])}, "
                f"{age} old)"
            )
    return "\n".join(lines)


def format_entries(entries: Sequence[dict[str, Any]], now: float) -> str:
    if not entries:
        return "The cache is empty."
    rows = [
        f"{terminal_text(e['task_id'])}  {terminal_text(e['agent_type'])}  "
        f"{size_text(e['size_bytes'])}  {plural(e['file_count'], 'file')}  "
        f"{describe_duration(now - e['created_at'])} old  "
        + ("running" if e["running"] else "finished" if e["finished_at"] else "idle")
        for e in entries
    ]
    return "\n".join(rows)


def format_preview(found: dict[str, Any], now: float) -> str:
    """``/cache preview`` in a terminal: the entry, its preview text, each file's first lines."""
    state = "running" if found["running"] else "finished" if found["finished"] else "idle"
    lines = [
        f"{terminal_text(found['task_id'])}  {terminal_text(found['agent_type'])}  "
        f"{size_text(found['size_bytes'])}  {plural(found['file_count'], 'file')}  "
        f"{describe_duration(now - found['created_at'])} old  {state}",
        terminal_text(found.get("preview") or "") or "no preview text",
    ]
    for item in found["files"]:
        lines.append(f"--- {terminal_text(item['name'])} ({size_text(item['size_bytes'])})")
        if item["binary"]:
            lines.append("binary")
        else:
            lines.extend(terminal_text(line) for line in item["first_lines"])
    return "\n".join(lines)


def format_plan(plan: CleanPlan, now: float) -> str:
    text = plan_text(plan, now, TERMINAL, names=50)
    return f"Plan: {text}" if plan.items else text
