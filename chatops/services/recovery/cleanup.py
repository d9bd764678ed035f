"""The seed's ``cleanup_stale_resources``: what a long-running fleet leaves behind. Bots offline
(or down) for more than ``recovery.offline_days``, dead socket files beside the controller's
(nothing listens on them), cache folders nobody indexed, history past its retention; then
``PRAGMA optimize``, and VACUUM when a fifth of the file is free pages (on the writer's thread,
off the loop). A dry run reports the same without touching anything."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
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
        cutoff = self._clock() - self._settings.recovery.offline_days * 86400
        stale_bots = sorted(
            bot.channel
            for bot in self._fleet.bots.values()
            if bot.status in ("offline", "down") and bot.status_changed_at < cutoff
        )
        sockets = await asyncio.to_thread(dead_sockets, self._settings.monitoring.socket_path)
        orphans = (await self._cache.reconcile()).orphans
        probe = await self._store.controller.probe(self._clock())
        vacuum = probe.free_bytes >= max(VACUUM_MIN_BYTES, VACUUM_FREE_FRACTION * probe.size_bytes)
        report: dict[str, Any] = {
            "dry_run": dry_run,
            "stale_bots": stale_bots,
            "dead_sockets": [str(path) for path in sockets],
            "orphan_cache_folders": orphans,
            "vacuum": vacuum,
            "database_bytes": probe.size_bytes,
            "free_bytes": probe.free_bytes,
        }
        if dry_run:
            return report
        report["stale_bots"] = [c for c in stale_bots if self._fleet.forget(c)]
        for path in sockets:
            path.unlink(missing_ok=True)
        for task_id in orphans:
            await asyncio.to_thread(cache_files.remove, self._cache.root / task_id)
        report["old_rows"] = {k: v for k, v in (await self._retention.run()).items() if v}
        await self._store.controller.optimize(vacuum)
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
