"""The cache over a real socket: the client library's calls, ownership, the upload cap, and
cleaning through the operator's door; the scheduled check's alerts on the injected clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chatops.client import MonitorClient
from chatops.config.cache import CacheConfig
from chatops.services.cache.checks import CacheChecks
from tests.conftest import FakeClock, RawClient, RecordingSink, make_settings

KB = 1024


async def cache_controller(workdir: Path, start_controller: Any) -> tuple[Any, Any]:
    settings = make_settings(workdir)
    # t3's folder is made by hand before it is registered: the scheduled check (5 s after
    # start, whenever a loaded machine gets there) must not adopt it in between.
    settings.cache = CacheConfig(orphans="report", auto_clean_enabled=False)
    return settings, await start_controller(settings)


async def create_t1(agent: MonitorClient) -> dict[str, Any] | None:
    """11 B in two files, running until ``agent`` finishes it."""
    return await agent.create_cache_entry(
        "t1",
        "claude",
        {"out.txt": "hello\n", "img.png": b"\x89PNG\0"},
        preview="done",
        agent="coder",
    )


async def register_t3(settings: Any, agent: MonitorClient) -> dict[str, Any] | None:
    """10 B in a folder made under the cache root, then registered by ``agent``."""
    (settings.cache_root / "t3").mkdir()
    (settings.cache_root / "t3" / "f").write_bytes(b"x" * 10)
    return await agent.register_cache_entry(
        "t3", "claude", settings.cache_root / "t3", agent="coder"
    )


async def write_w1(settings: Any) -> RawClient:
    """1 B written over a raw connection (an agent's); the connection, still open."""
    writer = await RawClient.connect(settings.monitoring.socket_path)
    wrote = await writer.request(
        {"id": 1, "type": "cache_create", "task_id": "w1", "agent_type": "x", "files": {"a": "1"}}
    )
    assert wrote["ok"], wrote
    return writer


async def test_an_agent_writes_and_registers_entries_within_the_rules(
    workdir: Path, start_controller: Any
) -> None:
    settings, ctl = await cache_controller(workdir, start_controller)
    cache = ctl.services.cache
    async with MonitorClient(settings.monitoring.socket_path) as agent:
        entry = await create_t1(agent)
        assert entry is not None and entry["size_bytes"] == 11 and entry["running"]
        assert (settings.cache_root / "t1" / "img.png").read_bytes() == b"\x89PNG\0"
        assert cache.running(cache.entries["t1"])
        too_big = await agent.create_cache_entry(
            "t2", "claude", {"a": "x" * 49 * KB}, agent="coder"
        )
        assert too_big is None and "t2" not in cache.entries
        outside = await agent.register_cache_entry("t3", "claude", workdir, agent="coder")
        assert outside is None
        placed = await register_t3(settings, agent)
        assert placed is not None and placed["size_bytes"] == 10


async def test_another_connection_may_not_finish_a_running_entry(
    workdir: Path, start_controller: Any
) -> None:
    settings, ctl = await cache_controller(workdir, start_controller)
    async with MonitorClient(settings.monitoring.socket_path) as agent:
        assert await create_t1(agent) is not None
        # Another connection may not finish it while its writer is connected.
        other = await RawClient.connect(settings.monitoring.socket_path)
        refused = await other.request(
            {"id": 1, "type": "cache_finish", "task_id": "t1", "agent": "coder"}
        )
        assert refused["error"]["code"] == "permission_denied"
        assert ctl.services.cache.running(ctl.services.cache.entries["t1"])
        await other.close()


async def test_a_connection_that_wrote_an_entry_may_not_clean(
    workdir: Path, start_controller: Any
) -> None:
    settings, ctl = await cache_controller(workdir, start_controller)
    cache = ctl.services.cache
    # A connection that wrote an entry (an agent's) may not clean.
    writer = await write_w1(settings)
    execute = {
        "id": 2,
        "type": "cache_execute",
        "kind": "clear_all_cache",
        "items": [{"task_id": "w1", "inode": cache.entries["w1"].inode}],
    }
    assert (await writer.request(execute))["error"]["code"] == "permission_denied"
    assert list(cache.entries) == ["w1"]
    await writer.close()


async def test_the_writer_finishes_its_entry_and_the_summary_counts_them_all(
    workdir: Path, start_controller: Any
) -> None:
    settings, ctl = await cache_controller(workdir, start_controller)
    cache = ctl.services.cache
    async with MonitorClient(settings.monitoring.socket_path) as agent:
        assert await create_t1(agent) is not None
        assert await register_t3(settings, agent) is not None
        await (await write_w1(settings)).close()
        assert await agent.finish_cache_entry("t1", agent="coder")
        assert not cache.running(cache.entries["t1"])
        summary = await agent.get_cache_summary()
        assert summary is not None and summary["count"] == 3 and summary["total_size_bytes"] == 22


async def test_an_operator_cleans_only_what_no_connected_writer_holds(
    workdir: Path, start_controller: Any
) -> None:
    from tests.conftest import wait_for

    settings, ctl = await cache_controller(workdir, start_controller)
    cache = ctl.services.cache
    async with MonitorClient(settings.monitoring.socket_path) as agent:
        assert await create_t1(agent) is not None
        assert await register_t3(settings, agent) is not None
        await (await write_w1(settings)).close()
        assert await agent.finish_cache_entry("t1", agent="coder")
        await wait_for(lambda: not cache.running(cache.entries["w1"]))  # its writer is gone

        operator = await RawClient.connect(settings.monitoring.socket_path)
        plan = await operator.request({"id": 3, "type": "cache_plan", "kind": "clear_all_cache"})
        # t3's writer is still connected: it is running and stays; w1's writer has gone.
        assert [i["task_id"] for i in plan["items"]] == ["t1", "w1"] and plan["running_kept"] == 1
        done = await operator.request(
            {
                "id": 4,
                "type": "cache_execute",
                "kind": "clear_all_cache",
                "items": [{"task_id": i["task_id"], "inode": i["inode"]} for i in plan["items"]],
            }
        )
        assert done["removed"] == ["t1", "w1"] and done["total_after"] == 10
        await operator.close()
    assert list(cache.entries) == ["t3"]


async def test_the_check_warns_once_per_crossing_and_announces_cleans(
    workdir: Path, start_controller: Any
) -> None:
    clock = FakeClock()
    sink = RecordingSink()
    settings = make_settings(workdir)
    settings.cache = CacheConfig(
        auto_clean_enabled=False,
        warning_threshold_mb=0.1,
        auto_clean_threshold_mb=0.1,
        auto_clean_keep_count=1,
        warning_repeat=3600,
    )
    ctl = await start_controller(settings, clock=clock, sinks=[sink])
    cache, router = ctl.services.cache, ctl.services.alerts
    checks = CacheChecks(cache, ctl.services.bus, clock=clock)
    for index in range(3):
        await cache.create_cache_entry(f"t{index}", "claude", {"o": b"x" * 60 * KB})
        cache.finish_cache_entry(f"t{index}")
        clock.advance(60)

    def kinds() -> list[str]:
        return [a.kind for a in sink.alerts]

    await checks.check()
    await checks.check()
    await ctl.store.flush()
    await _delivered(sink, 1)
    assert kinds() == ["cache"] and "over its 0.1 MB warning" in sink.alerts[0].body
    clock.advance(3600)
    router.tick()
    await _delivered(sink, 2)
    assert kinds()[-1] == "reminder"

    cache.set_auto_clean(True)
    await checks.check()
    await _delivered(sink, 4)
    cleaned = next(a for a in sink.alerts if a.kind == "cache_cleaned")
    assert cleaned.title.startswith("🧹 Auto-clean removed 2 cache entries")
    assert cleaned.data["removed"] == ["t0", "t1"]
    assert kinds()[-1] == "cache_resolved" and list(cache.entries) == ["t2"]


async def _delivered(sink: RecordingSink, count: int) -> None:
    from tests.conftest import wait_for

    await wait_for(lambda: len(sink.alerts) >= count, timeout=20)


async def test_new_entries_are_refused_over_the_ceiling(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir)
    settings.cache.max_total_mb = 0.01  # about 10 kB
    ctl = await start_controller(settings)
    async with MonitorClient(settings.monitoring.socket_path) as agent:
        first = await agent.create_cache_entry("a", "x", {"f": "x" * 20 * KB})
        assert first is not None and first["size_bytes"] == 20 * KB
        assert await agent.create_cache_entry("b", "x", {"f": "small"}) is None
    assert list(ctl.services.cache.entries) == ["a"]


async def test_an_unknown_entry_is_not_found_whatever_asks(controller: Any) -> None:
    """A missing entry is one answer, ``not_found``, for a preview and for a delete's plan."""
    raw = await RawClient.connect(controller.settings.monitoring.socket_path)
    try:
        preview = await raw.request({"id": 1, "type": "cache_preview", "task_id": "nope"})
        plan = await raw.request(
            {"id": 2, "type": "cache_plan", "kind": "delete_cache_entry", "task_id": "nope"}
        )
    finally:
        await raw.close()
    for reply in (preview, plan):
        assert reply["error"] == {"code": "not_found", "message": "no cache entry 'nope'"}, reply
