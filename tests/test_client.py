"""The client library: fail-safe when the monitor is down, spool replayed exactly once."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import msgspec

from chatops.client import LLMUsageLogger, MonitorClient, SyncMonitorClient
from chatops.wire.protocol import LlmUsage
from tests.conftest import RawClient, make_settings, new_controller, query, wait_for


async def test_client_never_raises_when_monitor_is_down(workdir: Path) -> None:
    """Every call gives its "not done" answer instead of raising; the usage is counted locally
    and kept in the spool for the replay, and nothing reached a monitor."""
    client = MonitorClient(workdir / "nobody.sock", connect_timeout=0.2)
    assert await client.register_with_monitor("b", os.getpid(), {"llm": True}) is False
    assert await client.heartbeat("b") is False
    assert await client.get_status() is None
    assert await client.unregister_from_monitor("b") is False
    logger = LLMUsageLogger(client)
    assert (
        await logger.log_usage(
            channel="b", model="m", tokens_in=5, tokens_out=2, estimated_cost=0.5, latency_ms=100
        )
        is False
    )
    stats = logger.get_usage_stats("b", days=30)
    assert stats["source"] == "local"
    assert (stats["total_tokens_in"], stats["total_tokens_out"], stats["total_cost"]) == (5, 2, 0.5)
    # Nothing was sent: no connection was ever made. The usage waits in the spool for the
    # replay; the heartbeat was dropped, not spooled (the next one supersedes it).
    assert client.connects == 0 and not client.connected
    [(_, spooled)] = client.spool.pending()
    assert isinstance(spooled, LlmUsage)
    assert (spooled.channel, spooled.model, spooled.tokens_in, spooled.tokens_out) == (
        "b",
        "m",
        5,
        2,
    )
    await client.close()


# An event the controller has committed once; its replays (an ack lost) must not be stored again.
REPLAYED = {
    "type": "llm_usage",
    "channel": "spooler",
    "model": "m",
    "tokens_in": 99,
    "key": "same-key",
}


def stored_replays(db: Path) -> list[tuple[int]]:
    return query(db, "SELECT COUNT(*) FROM llm_usage WHERE tokens_in = 99")


async def test_spool_survives_downtime_and_replays_exactly_once(workdir: Path) -> None:
    settings = make_settings(workdir)
    path = settings.monitoring.socket_path
    client = MonitorClient(path, connect_timeout=0.2, backoff_initial=0.05, backoff_max=0.2)
    assert not await client.register_with_monitor("spooler", os.getpid())
    for i in range(10):
        assert await client.log_usage(channel="spooler", model="m", tokens_in=i) is False
    assert await client.task_result("agent-1", True, task="t") is False
    assert len(client.spool) == 11

    ctl = new_controller(settings)
    await ctl.start()
    try:
        assert await client.drain_spool(timeout=20)
        db = settings.monitoring.database_path
        rows = query(db, "SELECT tokens_in FROM llm_usage ORDER BY tokens_in")
        assert rows == [(i,) for i in range(10)]
        assert query(db, "SELECT tasks_completed FROM agents WHERE name='agent-1'") == [(1,)]
        # It re-registered by itself on reconnect.
        await wait_for(lambda: ctl.services.fleet.bots.get("spooler"))  # type: ignore[union-attr]
    finally:
        await client.close()
        await ctl.stop()


async def test_a_replay_of_a_committed_event_is_not_stored_again(workdir: Path) -> None:
    """Its ack was lost: the same key again, over a raw connection and from a client's spool."""
    settings = make_settings(workdir)
    path = settings.monitoring.socket_path
    ctl = new_controller(settings)
    await ctl.start()
    try:
        raw = await RawClient.connect(path)
        assert (await raw.request({**REPLAYED, "id": 1}))["ok"]
        assert (await raw.request({**REPLAYED, "id": 2}))["ok"]
        await raw.close()
        replayer = MonitorClient(path)
        replayer.spool.add("same-key", msgspec.convert(REPLAYED, LlmUsage))
        assert await replayer.wait_connected(10)
        assert await replayer.drain_spool(timeout=20)
        await replayer.close()
        assert stored_replays(settings.monitoring.database_path) == [(1,)]
    finally:
        await ctl.stop()


async def test_idempotency_keys_survive_a_controller_restart(workdir: Path) -> None:
    """A replay after a restart is still recognised."""
    settings = make_settings(workdir)
    path = settings.monitoring.socket_path
    db = settings.monitoring.database_path
    for request_id in (1, 2):  # committed by the first controller, replayed to the second
        ctl = new_controller(settings)
        await ctl.start()
        try:
            raw = await RawClient.connect(path)
            assert (await raw.request({**REPLAYED, "id": request_id}))["ok"]
            await raw.close()
            assert stored_replays(db) == [(1,)]
        finally:
            await ctl.stop()


async def test_usage_stats_from_monitor(workdir: Path) -> None:
    settings = make_settings(workdir)
    ctl = new_controller(settings)
    await ctl.start()
    try:
        logger = LLMUsageLogger(socket_path=settings.monitoring.socket_path)
        for tokens_in, cost, latency in ((150, 0.0003, 1000), (50, 0.0001, 2000)):
            assert await logger.log_usage(
                channel="el_serda",
                model="deepseek-chat",
                feature="joke_command",
                tokens_in=tokens_in,
                tokens_out=80,
                latency_ms=latency,
                estimated_cost=cost,
            )
        await logger.client.log_usage(channel="other", model="m", tokens_in=1000)
        stats = await asyncio.to_thread(logger.get_usage_stats, "el_serda", 30)
        assert stats["source"] == "monitor"
        assert stats["total_tokens_in"] == 200
        assert stats["total_tokens_out"] == 160
        assert abs(stats["total_cost"] - 0.0004) < 1e-12
        assert stats["total_calls"] == 2 and stats["avg_latency_ms"] == 1500
        await logger.client.close()
    finally:
        await ctl.stop()


async def test_sync_wrapper(workdir: Path) -> None:
    settings = make_settings(
        workdir, heartbeat_interval=1, late_grace=0.5, stale_timeout=3, metrics_interval=0.05
    )
    db = settings.monitoring.database_path
    ctl = new_controller(settings)
    await ctl.start()
    try:
        # The blocking calls run in a thread, as in a bot that is not async, while the
        # controller runs on this loop.
        path = settings.monitoring.socket_path
        client = await asyncio.to_thread(SyncMonitorClient, path)
        try:
            assert await asyncio.to_thread(
                client.register_with_monitor, "sync-bot", os.getpid(), {"llm": True}
            )
            client.start_heartbeat("sync-bot", interval=0.1)  # returns at once
            assert await asyncio.to_thread(
                lambda: client.log_usage(channel="sync-bot", model="m", tokens_in=7)
            )
            # Heartbeats from the client's own thread, each a metrics row: wait for two.
            await wait_for(
                lambda: (
                    query(db, "SELECT COUNT(*) FROM bot_metrics WHERE channel='sync-bot'") >= [(2,)]
                ),
                timeout=30,
            )
            assert await asyncio.to_thread(client.unregister_from_monitor, "sync-bot")
        finally:
            await asyncio.to_thread(client.close)
        await ctl.store.flush()  # type: ignore[union-attr]
        assert query(db, "SELECT status FROM bot_status WHERE channel='sync-bot'") == [("offline",)]
        assert query(db, "SELECT COUNT(*) > 1 FROM bot_metrics WHERE channel='sync-bot'") == [(1,)]
        assert query(db, "SELECT tokens_in FROM llm_usage") == [(7,)]
    finally:
        await ctl.stop()


async def test_usage_stats_during_an_outage_say_they_are_local(workdir: Path) -> None:
    """Up, the totals are the controller's (every process's calls); down, they are this
    process's own, and the answer says so rather than passing them off as the fleet's."""
    settings = make_settings(workdir)
    ctl = new_controller(settings)
    await ctl.start()
    path = settings.monitoring.socket_path
    mine, other = LLMUsageLogger(socket_path=path), LLMUsageLogger(socket_path=path)
    try:
        for logger, tokens in ((mine, 100), (mine, 50), (other, 1000)):
            assert await logger.log_usage(channel="b", model="m", tokens_in=tokens)
        fleet = await asyncio.to_thread(mine.get_usage_stats, "b", 30)
        assert fleet["source"] == "monitor" and "note" not in fleet
        assert fleet["total_tokens_in"] == 1150
    finally:
        await ctl.stop()
    outage = await asyncio.to_thread(mine.get_usage_stats, "b", 30)
    assert outage["source"] == "local" and outage["total_tokens_in"] == 150
    assert outage["note"].startswith("local totals") and "this process" in outage["note"]
    await mine.client.close()
    await other.client.close()
