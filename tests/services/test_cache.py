"""The cache manager on real temp directories: sizes and statistics, plans by size (oldest
first, the newest kept), by age, never a running task, traversal attempts, links in and out
and one swapped in between plan and delete, a delete killed half-way, and reconciliation."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chatops.api.cache_views import preview_to_dict, stats_to_dict
from chatops.config.cache import CacheConfig
from chatops.records.cache import TypeTotals
from chatops.services.cache.errors import CacheError
from chatops.services.cache.manager import CacheManager
from chatops.store import Store
from tests.conftest import BOTS, FakeClock, query

KB = 1024


@pytest.fixture
def root(workdir: Path) -> Path:
    path = workdir / "cache"
    path.mkdir(mode=0o700)
    return path


async def manager_for(store: Store, root: Path, clock: FakeClock, **config: object) -> CacheManager:
    manager = CacheManager(store, CacheConfig(**config), root, clock=clock)  # type: ignore[arg-type]
    await manager.start()
    return manager


async def fill(manager: CacheManager, clock: FakeClock, count: int, size: int = 100 * KB) -> None:
    for index in range(count):
        await manager.create_cache_entry(
            f"task-{index}", "claude" if index % 2 else "gemini", {"out.bin": b"x" * size}
        )
        manager.finish_cache_entry(f"task-{index}")
        clock.advance(60)


async def test_statistics_are_kept_as_entries_come_and_go(
    store: Store, root: Path, clock: FakeClock
) -> None:
    manager = await manager_for(store, root, clock)
    await fill(manager, clock, 3)
    await manager.create_cache_entry(
        "big", "claude", {"a.txt": b"a" * 300 * KB, "sub/b.txt": b"b" * KB}, preview="summary"
    )
    stats = stats_to_dict(manager.statistics())
    assert stats["count"] == 4 and stats["total_size_bytes"] == 3 * 100 * KB + 301 * KB
    assert stats["by_agent_type"] == {
        "claude": {"count": 2, "size_bytes": 401 * KB},
        "gemini": {"count": 2, "size_bytes": 200 * KB},
    }
    assert stats["oldest"]["task_id"] == "task-0" and stats["newest"]["task_id"] == "big"
    assert stats["largest"]["task_id"] == "big"
    await manager.delete_cache_entry("task-1")
    assert manager.total == 2 * 100 * KB + 301 * KB and not (root / "task-1").exists()
    assert stats_to_dict(manager.statistics())["by_agent_type"]["claude"] == {
        "count": 1,
        "size_bytes": 301 * KB,
    }

    preview = await manager.preview_cache_entry("big")
    assert preview.entry.preview == "summary" and preview.entry.files == 2
    names = {f.name: f for f in preview.files}
    assert names["a.txt"].first_lines == ("a" * 4096,) and names["sub/b.txt"].size == KB
    await manager.create_cache_entry("bin", "x", {"blob": b"\0\1\2", "notes.md": b"# one\ntwo\n"})
    listed = {f.name: f for f in (await manager.preview_cache_entry("bin")).files}
    assert listed["blob"].first_lines is None
    assert listed["notes.md"].first_lines == ("# one", "two")


async def test_the_typed_statistics_and_preview_are_what_the_socket_answers(
    store: Store, root: Path, clock: FakeClock
) -> None:
    """What the cogs read (typed) and what the socket answers (its dicts, made from them at the
    door) are one and the same."""
    manager = await manager_for(store, root, clock)
    await fill(manager, clock, 2)
    await manager.create_cache_entry("bin", "x", {"blob": b"\0\1", "notes.md": b"# one\ntwo\n"})
    stats = manager.statistics()
    assert stats.count == 3 and stats.total_size == manager.total
    assert stats.by_agent_type["x"] == TypeTotals(1, stats.by_agent_type["x"].size)
    assert stats.oldest is not None and stats.oldest.task_id == "task-0"
    summary = stats_to_dict(stats)  # the socket's get_cache_summary
    assert summary["count"] == 3 and summary["total_size_bytes"] == manager.total
    assert summary["by_agent_type"]["x"] == {"count": 1, "size_bytes": 2 + 10}
    assert summary["oldest"] == {
        "task_id": "task-0",
        "size_bytes": stats.oldest.size,
        "created_at": stats.oldest.created_at,
    }

    preview = await manager.preview_cache_entry("bin")
    assert preview.entry.task_id == "bin" and not preview.running
    assert [(f.name, f.first_lines) for f in preview.files] == [
        ("blob", None),
        ("notes.md", ("# one", "two")),
    ]
    shown = preview_to_dict(preview)  # the socket's cache_preview
    assert shown["task_id"] == "bin" and shown["running"] is False
    assert [
        (f["name"], f["size_bytes"], f["first_lines"], f["binary"]) for f in shown["files"]
    ] == [
        ("blob", 2, None, True),
        ("notes.md", 10, ["# one", "two"], False),
    ]


async def test_auto_clean_removes_the_oldest_and_keeps_the_newest(
    store: Store, root: Path, clock: FakeClock
) -> None:
    manager = await manager_for(
        store, root, clock, auto_clean_threshold_mb=0.5, auto_clean_keep_count=5
    )
    await fill(manager, clock, 8)  # 800 kB, over 512 kB
    plan = manager.plan_auto_clean()
    assert [item.task_id for item in plan.items] == ["task-0", "task-1", "task-2"]
    assert {item.reason for item in plan.items} == {"size"} and plan.size == 300 * KB
    result = await manager.execute(plan)
    assert [item.task_id for item in result.removed] == ["task-0", "task-1", "task-2"]
    assert manager.total == 500 * KB
    assert sorted(p for p in os.listdir(root) if not p.startswith(".")) == [
        f"task-{i}" for i in range(3, 8)
    ]
    # Only five left: the five newest are kept even though the total is still over.
    manager.config.auto_clean_threshold_mb = 0.1
    assert manager.plan_auto_clean().items == ()


async def test_a_running_task_is_never_cleaned_by_itself(
    store: Store, root: Path, clock: FakeClock
) -> None:
    manager = await manager_for(
        store, root, clock, auto_clean_threshold_mb=0.1, auto_clean_keep_count=0
    )
    await fill(manager, clock, 2)
    await manager.create_cache_entry("busy", "claude", {"o": b"x" * 200 * KB}, agent="coder")
    clock.advance(60)
    await manager.create_cache_entry("abandoned", "claude", {"o": b"x" * KB}, agent="gone")
    manager.online = lambda entry: entry.agent == "coder"
    plan = manager.plan_auto_clean()
    assert "busy" not in [item.task_id for item in plan.items] and plan.running_kept == 1
    clear = manager.plan_clear()
    assert "busy" not in [i.task_id for i in clear.items] and "abandoned" in [
        i.task_id for i in clear.items
    ]
    with pytest.raises(CacheError, match="still running"):
        await manager.delete_cache_entry("busy")
    clock.advance(40 * 86400)
    assert "busy" not in [i.task_id for i in manager.plan_old_entries(30).items]
    assert (await manager.delete_cache_entry("busy", force=True)).removed
    assert "busy" not in manager.entries and not (root / "busy").exists()


async def test_old_entries_by_age(store: Store, root: Path, clock: FakeClock) -> None:
    manager = await manager_for(store, root, clock)
    await fill(manager, clock, 3)
    clock.advance(10 * 86400)
    await fill(manager, clock, 0)
    await manager.create_cache_entry("recent", "claude", {"o": b"x"})
    plan = manager.plan_old_entries(7)
    assert [i.task_id for i in plan.items] == ["task-0", "task-1", "task-2"]
    assert {i.reason for i in plan.items} == {"age"}
    result = await manager.cleanup_old_entries(7)
    assert len(result.removed) == 3 and list(manager.entries) == ["recent"]


@pytest.mark.parametrize("task_id", ["../escape", "/etc", ".trash", "a/b", "..", "", "x\n"])
async def test_task_ids_cannot_leave_the_root(
    store: Store, root: Path, clock: FakeClock, task_id: str
) -> None:
    manager = await manager_for(store, root, clock)
    beside = sorted(os.listdir(root.parent))  # where "../escape" would land
    with pytest.raises(CacheError):
        await manager.create_cache_entry(task_id, "claude", {"a": b"x"})
    assert os.listdir(root) == [] or os.listdir(root) == [".incoming"]
    assert sorted(os.listdir(root.parent)) == beside


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "a/../../b", "a//b", "", "a\\b", "."])
async def test_file_names_cannot_leave_the_entry(
    store: Store, root: Path, clock: FakeClock, name: str
) -> None:
    manager = await manager_for(store, root, clock)
    with pytest.raises(CacheError):
        await manager.create_cache_entry("t1", "claude", {"ok.txt": b"1", name: b"x"})
    assert "t1" not in manager.entries and not (root / "t1").exists()
    assert os.listdir(root / ".incoming") == []  # the staging folder went too


async def test_links_in_and_out_are_never_followed(
    store: Store, root: Path, clock: FakeClock, workdir: Path
) -> None:
    outside = workdir / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("do not touch")
    manager = await manager_for(store, root, clock, orphans="report")
    # A link registered as an entry's folder is refused.
    os.symlink(outside, root / "linked")
    with pytest.raises(CacheError, match="not a plain folder"):
        await manager.register_cache_entry("linked", "claude")
    # A link inside an entry counts as nothing and is removed as a link.
    (root / "real").mkdir()
    (root / "real" / "data").write_bytes(b"x" * 10)
    os.symlink(outside, root / "real" / "escape")
    os.symlink(outside / "keep.txt", root / "real" / "file-link")
    entry = await manager.register_cache_entry("real", "claude")
    assert entry.size == 10 and entry.files == 1
    await manager.delete_cache_entry("real")
    assert (outside / "keep.txt").read_text() == "do not touch"


async def test_a_link_swapped_in_between_plan_and_delete(
    store: Store, root: Path, clock: FakeClock, workdir: Path
) -> None:
    outside = workdir / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("do not touch")
    manager = await manager_for(store, root, clock)
    await fill(manager, clock, 2)
    plan = manager.plan_clear()
    os.rename(root / "task-0", workdir / "moved-away")
    os.symlink(outside, root / "task-0")
    result = await manager.execute(plan)
    assert [item.task_id for item in result.removed] == ["task-1"]
    assert result.skipped == [("task-0", "no longer the folder that was planned")]
    assert (outside / "keep.txt").read_text() == "do not touch"
    assert os.path.islink(root / "task-0")


async def test_a_delete_killed_half_way_is_finished_at_the_next_start(
    workdir: Path, root: Path, clock: FakeClock
) -> None:
    db = workdir / "crash.db"
    store = await Store.open(db, max_delay=0)
    manager = await manager_for(store, root, clock)
    await fill(manager, clock, 2)
    await store.close()

    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS_")}
    proc = subprocess.Popen(
        [sys.executable, str(BOTS / "cache_deleter.py"), str(db), str(root), "task-0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 30)
        assert line.startswith(b"MOVED"), proc.stderr.read() if proc.stderr else b""
        assert not (root / "task-0").exists() and os.listdir(root / ".trash")
        assert query(db, "SELECT deleting FROM cache_entries WHERE task_id = 'task-0'") == [(1,)]
    finally:
        proc.kill()
        proc.wait(10)

    store = await Store.open(db, max_delay=0)
    try:
        again = await manager_for(store, root, clock)
        assert list(again.entries) == ["task-1"] and again.total == 100 * KB
        assert os.listdir(root / ".trash") == []
        assert sorted(p for p in os.listdir(root) if not p.startswith(".")) == ["task-1"]
        await store.flush()
        assert query(db, "SELECT task_id FROM cache_entries") == [("task-1",)]
    finally:
        await store.close()


async def test_reconciliation_adopts_orphans_and_drops_vanished(
    store: Store, root: Path, clock: FakeClock
) -> None:
    manager = await manager_for(store, root, clock)
    await fill(manager, clock, 2)
    (root / "orphan").mkdir()
    (root / "orphan" / "f").write_bytes(b"x" * 5)
    os.rename(root / "task-0", root.parent / "gone")
    (root / "task-1" / "more").write_bytes(b"y" * 7)  # the folder's mtime changes
    found = await manager.reconcile()
    assert found.adopted == ["orphan"] and found.dropped == ["task-0"]
    assert manager.entries["orphan"].agent_type == "unknown"
    assert manager.entries["orphan"].finished
    assert manager.entries["task-1"].size == 100 * KB + 7
    assert manager.total == 100 * KB + 7 + 5

    reporting = await manager_for(store, root, clock, orphans="report")
    (root / "stray").mkdir()
    found = await reporting.reconcile()
    assert found.orphans == ["stray"] and "stray" not in reporting.entries


async def test_an_entry_is_created_once(store: Store, root: Path, clock: FakeClock) -> None:
    manager = await manager_for(store, root, clock)
    with pytest.raises(CacheError, match="already exists"):
        await manager.create_cache_entry("t2", "claude", {"a": b"1"})
        await manager.create_cache_entry("t2", "claude", {"a": b"1"})
    assert manager.total == 1
