"""Cleaning up what a long-running fleet leaves behind (``cleanup_stale_resources``). Bots offline
(or down) for more than ``recovery.offline_days``, dead socket files beside the controller's
(nothing listens on them), cache folders nobody indexed, history past its retention; then
``PRAGMA optimize``, and VACUUM when a fifth of the file is free pages (on the writer's thread,
off the loop). A dry run reports the same without touching anything; a plan that was shown is
carried out exactly (:meth:`StaleCleanup.execute`), never a fresh look that may find more."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from chatops.config import Settings
from chatops.services.cache import files as cache_files
from chatops.services.cache.manager import CacheManager
from chatops.services.fleet import FleetService
from chatops.services.retention import RetentionService
from chatops.store import Store
from chatops.timeutil import Clock, wall_clock

VACUUM_FREE_FRACTION = 0.2
VACUUM_MIN_BYTES = 8 * 1_048_576


class StaleCleanup:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        fleet: FleetService,
        cache: CacheManager,
        retention: RetentionService,
        *,
        clock: Clock = wall_clock,
    ) -> None:
        self._settings = settings
        self._store = store
        self._fleet = fleet
        self._cache = cache
        self._retention = retention
        self._clock = clock

    async def cleanup_stale_resources(self, *, dry_run: bool = True) -> dict[str, Any]:
        """The plan (a dry run), or the plan carried out at once."""
        plan = await self.plan()
        return (plan.report(dry_run=True) if dry_run else await self.execute(plan)).to_dict()

    async def plan(self) -> CleanupPlan:
        """What is stale now; nothing is touched."""
        cutoff = self._clock() - self._settings.recovery.offline_days * 86400
        stale_bots = {
            bot.channel: bot.status_changed_at
            for bot in self._fleet.bots.values()
            if bot.status in ("offline", "down") and bot.status_changed_at < cutoff
        }
        sockets = await asyncio.to_thread(dead_sockets, self._settings.monitoring.socket_path)
        orphans = (await self._cache.reconcile()).orphans
        probe = await self._store.controller.probe(self._clock())
        vacuum = probe.free_bytes >= max(VACUUM_MIN_BYTES, VACUUM_FREE_FRACTION * probe.size_bytes)
        return CleanupPlan(
            stale_bots=stale_bots,
            dead_sockets=tuple(sockets),
            orphan_cache_folders=tuple(orphans),
            vacuum=vacuum,
            database_bytes=probe.size_bytes,
            free_bytes=probe.free_bytes,
        )

    async def execute(self, plan: CleanupPlan) -> CleanupReport:
        """Exactly what ``plan`` showed, each item checked again first: a bot that came back
        (or changed state) since, a socket something listens on again, a folder that was
        indexed meanwhile is left alone; whatever became stale after the plan waits for the
        next one."""
        stale_bots = [
            channel
            for channel, since in plan.stale_bots.items()
            if self._still_stale(channel, since) and self._fleet.forget(channel)
        ]
        still_dead = set(
            await asyncio.to_thread(dead_sockets, self._settings.monitoring.socket_path)
        )
        removed_sockets = []
        for path in plan.dead_sockets:
            if path in still_dead:
                path.unlink(missing_ok=True)
                removed_sockets.append(str(path))
        orphans_now = set((await self._cache.reconcile()).orphans)
        removed_folders = []
        for task_id in plan.orphan_cache_folders:
            if task_id in orphans_now:
                await asyncio.to_thread(cache_files.remove, self._cache.root / task_id)
                removed_folders.append(task_id)
        old_rows = {k: v for k, v in (await self._retention.run()).items() if v}
        await self._store.controller.optimize(plan.vacuum)
        return replace(
            plan.report(dry_run=False),
            stale_bots=tuple(stale_bots),
            dead_sockets=tuple(removed_sockets),
            orphan_cache_folders=tuple(removed_folders),
            old_rows=old_rows,
        )

    def _still_stale(self, channel: str, since: float) -> bool:
        bot = self._fleet.bots.get(channel)
        return (
            bot is not None and bot.status in ("offline", "down") and bot.status_changed_at == since
        )


@dataclass(frozen=True, slots=True)
class CleanupPlan:
    """What a cleanup would remove, as shown to the operator before it is confirmed."""

    stale_bots: dict[str, float]
    """Each stale bot with the time of its last status change: one that changes is spared."""
    dead_sockets: tuple[Path, ...]
    orphan_cache_folders: tuple[str, ...]
    vacuum: bool
    database_bytes: int
    free_bytes: int

    def report(self, *, dry_run: bool) -> CleanupReport:
        return CleanupReport(
            dry_run=dry_run,
            stale_bots=tuple(sorted(self.stale_bots)),
            dead_sockets=tuple(str(path) for path in self.dead_sockets),
            orphan_cache_folders=self.orphan_cache_folders,
            vacuum=self.vacuum,
            database_bytes=self.database_bytes,
            free_bytes=self.free_bytes,
        )


@dataclass(frozen=True, slots=True)
class CleanupReport:
    """What a cleanup would remove (``dry_run``: the plan, as shown) or removed."""

    dry_run: bool
    stale_bots: tuple[str, ...]
    dead_sockets: tuple[str, ...]
    orphan_cache_folders: tuple[str, ...]
    vacuum: bool
    database_bytes: int
    free_bytes: int
    old_rows: dict[str, int] | None = None
    """Carried out only: the rows past their retention, by table."""

    def to_dict(self) -> dict[str, Any]:
        """The report as ``cleanup_stale_resources`` returns it and the socket answers it."""
        report: dict[str, Any] = {
            "dry_run": self.dry_run,
            "stale_bots": list(self.stale_bots),
            "dead_sockets": list(self.dead_sockets),
            "orphan_cache_folders": list(self.orphan_cache_folders),
            "vacuum": self.vacuum,
            "database_bytes": self.database_bytes,
            "free_bytes": self.free_bytes,
        }
        if self.old_rows is not None:
            report["old_rows"] = self.old_rows
        return report


def dead_sockets(own: Path) -> list[Path]:
    """Socket files beside ours that nothing listens on (left by a crash); never ours, never
    anything that is not a socket or not ours to remove."""
    found = []
    try:
        entries = list(os.scandir(own.parent))
    except OSError:
        return []
    for entry in entries:
        path = Path(entry.path)
        if path == own:
            continue
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISSOCK(info.st_mode) or info.st_uid != os.geteuid():
            continue
        with socket.socket(socket.AF_UNIX) as probe:
            probe.settimeout(1)
            try:
                probe.connect(str(path))
            except ConnectionRefusedError:
                found.append(path)
            except OSError:
                continue
    return found
