"""The cache manager's costs: its statistics and the auto-clean plan on 100,000 entries
(targets: under 1 s each), and the start-up reconciliation on 10,000 real folders.

The 100,000 entries are indexed in memory as a started manager holds them (no folders: the
figures are the index's own cost, which is what a check pays); the reconciliation runs on real
folders in a temp dir, first adopting them all (an empty index), then with the index in step
(only each folder's lstat), then after 1,000 folders changed (those are measured again).

    python bench/cache.py
    python bench/cache.py --entries 100000 --folders 10000
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatops.api.cache_views import stats_to_dict
from chatops.config.cache import CacheConfig
from chatops.records.cache import CacheEntry
from chatops.services.cache.manager import CacheManager
from chatops.store import Store


def timed(call: object, repeat: int = 5) -> float:
    """Median of ``repeat`` runs, in ms."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def index_costs(entries: int, workdir: Path) -> None:
    store = await Store.open(workdir / "index.db", max_delay=0.01)
    manager = CacheManager(
        store, CacheConfig(auto_clean_threshold_mb=500, auto_clean_keep_count=5), workdir / "none"
    )
    now = time.time()
    for index in range(entries):
        manager._add(  # the index as start() loads it
            CacheEntry(
                task_id=f"task-{index:06d}",
                agent_type=("claude", "gemini", "openai")[index % 3],
                size=20_000 + (index * 7919) % 50_000,
                files=3,
                created_at=now - (entries - index) * 10,
                finished_at=now,
                mtime_ns=0,
                inode=index,
            )
        )
    stats_ms = timed(lambda: stats_to_dict(manager.statistics()))  # as get_cache_summary
    plan_ms = timed(manager.plan_auto_clean)
    clean_ms = timed(manager.plan_clean)
    plan = manager.plan_auto_clean()
    print(f"index of {entries:,} entries ({manager.total / 1_048_576:,.0f} MB):")
    print(f"  statistics            {stats_ms:8.1f} ms")
    print(f"  auto-clean plan       {plan_ms:8.1f} ms  ({len(plan.items):,} entries to remove)")
    print(f"  clean plan (age+size) {clean_ms:8.1f} ms")
    await store.close()


async def reconcile_costs(folders: int, workdir: Path) -> None:
    root = workdir / "cache"
    root.mkdir()
    for index in range(folders):
        folder = root / f"task-{index:05d}"
        folder.mkdir()
        (folder / "out.txt").write_bytes(b"x" * 2048)
        (folder / "log.txt").write_bytes(b"y" * 512)
    store = await Store.open(workdir / "reconcile.db", max_delay=0.01)
    try:
        first = CacheManager(store, CacheConfig(), root)
        start = time.perf_counter()
        found = await first.start()
        adopt_s = time.perf_counter() - start
        second = CacheManager(store, CacheConfig(), root)
        start = time.perf_counter()
        await second.start()
        steady_s = time.perf_counter() - start
        for index in range(0, folders, max(1, folders // 1000)):
            (root / f"task-{index:05d}" / "more.txt").write_bytes(b"z")
        third = CacheManager(store, CacheConfig(), root)
        start = time.perf_counter()
        changed = await third.start()
        changed_s = time.perf_counter() - start
    finally:
        await store.close()
    print(f"start-up reconciliation, {folders:,} folders:")
    print(f"  empty index (adopt every folder)  {adopt_s:6.2f} s  ({len(found.adopted):,} adopted)")
    print(f"  index in step (lstat only)        {steady_s:6.2f} s")
    print(f"  {changed.remeasured:,} folders changed (re-measured) {changed_s:6.2f} s")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--folders", type=int, default=10_000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cache-bench-"))
    try:
        await index_costs(args.entries, workdir)
        await reconcile_costs(args.folders, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
