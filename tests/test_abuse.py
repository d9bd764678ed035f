"""Bad input costs its sender at most its own connection: never a false alert, a full disk, a
flooded log or a stalled neighbour. Real sockets, real SQLite files."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path

import pytest

from chatops.composition.controller import Controller
from chatops.records.fleet import FleetEvent
from chatops.wire.protocol import MAX_FEATURES_BYTES
from tests.conftest import RawClient, handler_table, make_settings, new_controller, query, wait_for

NASTY = [
    b'{"id": 1, "type": "heartbeat", "channel": "a\xff\xfe", "pid": 1}',
    b'{"id": 2, "type": "register", "channel": "ok", "pid": 1, "features": {"x": "\xc3"}}',
    b"[" * 10_000 + b"]" * 10_000,
    b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    b'{"id": 3, "type": "register", "channel": "evil\\u001b[2J", "pid": 1}',
    b"\x00\x01\x02 not json at all",
]


async def test_malformed_lines_never_cost_the_connection_or_raise_a_false_alert(
    raw, controller: Controller
) -> None:
    client: RawClient = await raw()
    register = {"id": "r", "type": "register", "channel": "steady", "pid": os.getpid()}
    assert (await client.request(register))["ok"]
    for line in NASTY:
        await client.send(line)
        reply = await client.recv()
        assert reply["ok"] is False
        assert reply["error"]["code"] in {"invalid_json", "invalid_message"}
        assert (await client.request({"id": "p", "type": "ping"}))["pong"] is True
    fleet = controller.services.fleet
    assert fleet is not None and fleet.bots["steady"].status == "online"
    assert "evil\x1b[2J" not in fleet.bots


async def test_a_heartbeat_for_a_name_no_bot_could_have_is_refused_escaped(
    raw, controller: Controller
) -> None:
    """A heartbeat's channel is not pattern-checked (it must name a registered bot, whose name
    was): one with control characters is refused ``not_registered`` with them escaped."""
    client: RawClient = await raw()
    reply = await client.request({"id": 1, "type": "heartbeat", "channel": "evil\x1b[2J\x07"})
    assert reply["error"]["code"] == "not_registered"
    assert "\x1b" not in reply["error"]["message"] and "\x07" not in reply["error"]["message"]
    assert "evil\\x1b[2J\\x07" in reply["error"]["message"]
    fleet = controller.services.fleet
    assert fleet is not None and not fleet.bots


async def test_heartbeat_flood_with_large_features_is_bounded(workdir: Path) -> None:
    settings = make_settings(workdir)  # metrics_interval: the seed's 15 s
    ctl = new_controller(settings)
    await ctl.start()
    try:
        client = await RawClient.connect(settings.monitoring.socket_path)
        too_big = {"k": "x" * MAX_FEATURES_BYTES}
        refused = await client.request(
            {"id": 0, "type": "register", "channel": "f", "pid": os.getpid(), "features": too_big}
        )
        assert refused["error"]["code"] == "invalid_message"
        message = refused["error"]["message"]
        assert message.startswith("register: features is ")
        assert message.endswith(f"more than {MAX_FEATURES_BYTES} - at `$.features`")
        big = {f"k{i}": "x" * 50 for i in range(60)}  # just under the cap
        assert (
            await client.request(
                {"id": 1, "type": "register", "channel": "f", "pid": os.getpid(), "features": big}
            )
        )["ok"]
        await client.send(
            *(
                {"id": i, "type": "heartbeat", "channel": "f", "rss_mb": float(i)}
                for i in range(2, 3002)
            )
        )
        replies = [await client.recv() for _ in range(3000)]
        assert all(reply["ok"] for reply in replies)
        await client.close()
        assert ctl.services.fleet.bots["f"].rss_mb == 3001.0  # latest wins
    finally:
        await ctl.stop()
    db = settings.monitoring.database_path
    # One metrics row per metrics_interval, whatever the heartbeat rate.
    assert query(db, "SELECT COUNT(*) FROM bot_metrics") == [(1,)]
    assert query(db, "SELECT rss_mb FROM bot_status") == [(3001.0,)]


async def test_garbage_flood_closes_the_sender_and_logs_a_summary(
    workdir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(workdir, bad_message_budget=20, bad_message_window=60)
    ctl = new_controller(settings)
    await ctl.start()
    try:
        neighbour = await RawClient.connect(settings.monitoring.socket_path)
        flooder = await RawClient.connect(settings.monitoring.socket_path)
        with caplog.at_level(logging.INFO, logger="chatops"):
            flooder.writer.write(b"garbage\n" * 500)  # fits the socket buffer: no drain needed
            replies = []
            while True:
                line = await asyncio.wait_for(flooder.reader.readline(), 10)
                if not line:
                    break
                replies.append(line)
            # Its budget was 20: the 21st bad line got its typed error, then the final one and
            # the close; the other 479 lines were never read.
            assert len(replies) == 22 and b"too_many_errors" in replies[-1]
            # The neighbour never noticed.
            assert (await neighbour.request({"id": 1, "type": "ping"}))["pong"] is True
            assert ctl.server is not None
            ctl.server.bad_input.flush()
        lines = [r for r in caplog.records if "bad message" in r.getMessage()]
        assert len(lines) == 1 and ": 22; latest" in lines[0].getMessage()
        await neighbour.close()
    finally:
        await ctl.stop()


async def test_half_open_connections_time_out_but_idle_bots_stay(workdir: Path) -> None:
    settings = make_settings(workdir, handshake_timeout=0.3)
    ctl = new_controller(settings)
    await ctl.start()
    try:
        bot = await RawClient.connect(settings.monitoring.socket_path)
        register = {"id": 1, "type": "register", "channel": "idle", "pid": os.getpid()}
        assert (await bot.request(register))["ok"]
        silent = await RawClient.connect(settings.monitoring.socket_path)
        silent.writer.write(b'{"type": "pi')  # a line never finished
        started = time.monotonic()
        final = await silent.recv(timeout=10)
        assert final["error"]["code"] == "handshake_timeout"
        assert await silent.reader.read() == b""
        assert time.monotonic() - started >= 0.25
        # The registered bot, silent for longer than that, is still connected and online.
        assert (await bot.request({"id": 2, "type": "ping"}))["pong"] is True
        assert ctl.services.fleet.bots["idle"].status == "online"
        await bot.close()
    finally:
        await ctl.stop()


async def test_connections_beyond_the_cap_get_an_error(workdir: Path) -> None:
    settings = make_settings(workdir, max_connections=10, max_connections_per_uid=3)
    ctl = new_controller(settings)
    await ctl.start()
    try:
        kept = [await RawClient.connect(settings.monitoring.socket_path) for _ in range(3)]
        extra = await RawClient.connect(settings.monitoring.socket_path)
        reply = await extra.recv()
        assert reply["error"]["code"] == "too_many_connections"
        assert await extra.reader.read() == b""
        for client in kept:
            assert (await client.request({"id": 1, "type": "ping"}))["pong"] is True
        await kept[0].close()
        assert ctl.server is not None
        await wait_for(lambda: len(ctl.server.connections) == 2)  # type: ignore[union-attr]
        again = await RawClient.connect(settings.monitoring.socket_path)
        assert (await again.request({"id": 1, "type": "ping"}))["pong"] is True
        for client in (*kept[1:], again):
            await client.close()
    finally:
        await ctl.stop()


async def test_out_of_range_ts_is_refused_and_its_key_not_kept(raw, controller, settings) -> None:
    client: RawClient = await raw()
    now = time.time()
    usage = {"type": "llm_usage", "channel": "u", "model": "m", "tokens_in": 5, "key": "k-1"}
    for bad_ts in (now * 1000, now + 3600, now - 30 * 86400):
        reply = await client.request({**usage, "id": 1, "ts": bad_ts})
        assert reply["error"]["code"] == "invalid_message", reply
    # The corrected retry with the same key is stored: nothing of the refusal was committed.
    assert (await client.request({**usage, "id": 2, "ts": now}))["ok"]
    assert (await client.request({**usage, "id": 3, "ts": now}))["ok"]  # a replay: stored once
    task = {"type": "task_result", "agent": "a", "success": True, "key": "t-1"}
    assert (await client.request({**task, "id": 4, "ts": now * 1000}))["ok"] is False
    assert (await client.request({**task, "id": 5}))["ok"]
    db = settings.monitoring.database_path
    assert query(db, "SELECT COUNT(*), SUM(tokens_in) FROM llm_usage") == [(1, 5)]
    assert query(db, "SELECT COUNT(*) FROM agent_tasks") == [(1,)]
    assert query(db, "SELECT key FROM idempotency_keys ORDER BY key") == [("k-1",), ("t-1",)]


async def test_usage_sums_cannot_fail(raw, settings) -> None:
    client: RawClient = await raw()
    for field, value in (("tokens_in", 2**53), ("estimated_cost", 1e308), ("latency_ms", 2**40)):
        reply = await client.request(
            {"id": 1, "type": "llm_usage", "channel": "c", "model": "m", field: value}
        )
        assert reply["error"]["code"] == "invalid_message", (field, reply)
    from chatops.wire.protocol import MAX_COST, MAX_TOKENS

    biggest = {
        "type": "llm_usage",
        "channel": "c",
        "model": "m",
        "tokens_in": MAX_TOKENS,
        "tokens_out": MAX_TOKENS,
        "estimated_cost": MAX_COST,
    }
    await client.send(*({**biggest, "id": i} for i in range(2000)))
    assert all([(await client.recv())["ok"] for _ in range(2000)])
    usage = await client.request({"id": "u", "type": "get_usage", "days": 1})
    assert usage["ok"] and usage["total_calls"] == 2000
    assert usage["total_tokens_in"] == 2000 * MAX_TOKENS
    assert usage["total_cost"] == pytest.approx(2000 * MAX_COST)


async def test_register_and_unregister_flood_adds_bounded_history(workdir: Path) -> None:
    settings = make_settings(workdir)
    ctl = new_controller(settings)
    await ctl.start()
    try:
        client = await RawClient.connect(settings.monitoring.socket_path)
        register = {"type": "register", "channel": "churn", "pid": os.getpid()}
        # Re-registering an online bot unchanged adds no history at all.
        await client.send(*({**register, "id": i} for i in range(500)))
        assert all([(await client.recv())["ok"] for _ in range(500)])
        assert ctl.store is not None
        await ctl.store.flush()
        db = settings.monitoring.database_path
        assert query(db, "SELECT COUNT(*) FROM events WHERE channel = 'churn'") == [(2,)]
        # Flapping on purpose: every transition still reaches the bus, history is capped.
        seen: list[str] = []
        ctl.services.bus.subscribe(FleetEvent, lambda event: seen.append(event.kind))
        for i in range(300):
            await client.send(
                {**register, "id": f"r{i}"},
                {"id": f"u{i}", "type": "unregister", "channel": "churn"},
            )
        assert all([(await client.recv())["ok"] for _ in range(600)])
        await ctl.store.flush()
        [(rows,)] = query(db, "SELECT COUNT(*) FROM events WHERE channel = 'churn'")
        assert seen.count("status_changed") == 599  # the first register found it online
        assert rows < 60  # the burst allowance plus a few refills, not 1,200
        await client.close()
    finally:
        await ctl.stop()


class _Transport(asyncio.Transport):
    """Just enough of a transport to watch what a connection does with its reading."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.paused = False
        self.pauses = 0

    def get_extra_info(self, name: str, default: object = None) -> object:
        return default

    def write(self, data: bytes) -> None:  # type: ignore[override]
        self.written.append(bytes(data))

    def pause_reading(self) -> None:
        self.paused = True
        self.pauses += 1

    def resume_reading(self) -> None:
        self.paused = False

    def close(self) -> None:
        pass


async def test_a_pipelining_client_gets_turns_instead_of_the_whole_loop(workdir: Path) -> None:
    from chatops.store import Store
    from chatops.wire.connection import LINES_PER_TURN, Connection
    from chatops.wire.outcomes import Immediate
    from chatops.wire.server import MonitorServer

    store = await Store.open(workdir / "t.db", max_delay=0)
    handlers = handler_table(Ping=lambda peer, msg: Immediate({"pong": True}))
    server = MonitorServer(handlers, store.writer, on_disconnect=print)
    try:
        connection = Connection(server)
        transport = _Transport()
        connection.connection_made(transport)
        count = 3 * LINES_PER_TURN + 10
        connection.data_received(b"".join(b'{"id":%d,"type":"ping"}\n' % i for i in range(count)))
        # One turn's worth handled and answered now (a turn writes its answers as it ends);
        # reading paused while the rest waits for later turns.
        assert transport.paused and transport.pauses == 1
        answered = b"".join(transport.written).count(b"pong")
        assert answered == LINES_PER_TURN
        await wait_for(lambda: b"".join(transport.written).count(b"pong") == count, timeout=5)
        assert not transport.paused  # all handled: reading again
    finally:
        await store.close()
