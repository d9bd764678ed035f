"""The monitor server over a real Unix socket with a real SQLite file."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from chatops.composition.controller import Controller
from chatops.config import Settings
from chatops.wire.transport import SocketInUseError
from tests.conftest import RawClient, make_settings, new_controller, query, wait_for


async def test_seed_messages_are_accepted_verbatim(raw, settings: Settings) -> None:
    client: RawClient = await raw()
    pid = os.getpid()  # the seed's 12345 would be refused by the peer check, tested below
    await client.send(
        f'{{"type": "register", "channel": "el_serda", "pid": {pid}, '
        '"features": {"llm": true, "translator": false}}',
        f'{{"type": "heartbeat", "channel": "el_serda", "pid": {pid}, "rss_mb": 150.5, '
        '"cpu_pct": 2.3}',
        '{"type": "llm_usage", "channel": "el_serda", "model": "deepseek-chat", '
        '"feature": "joke_command", "tokens_in": 150, "tokens_out": 80, "latency_ms": 1200, '
        '"estimated_cost": 0.0003}',
        '{"type": "get_status"}',
    )
    # Seed messages carry no id, so the only answer is get_status's, and it always comes.
    status = await client.recv()
    assert status["ok"] is True and status["id"] is None
    [bot] = status["bots"]
    assert bot["channel"] == "el_serda" and bot["status"] == "online"
    assert bot["rss_mb"] == 150.5 and bot["features"] == {"llm": True, "translator": False}

    await client.send(f'{{"type": "unregister", "channel": "el_serda", "pid": {pid}}}')
    db = settings.monitoring.database_path
    await wait_for(lambda: query(db, "SELECT status FROM bot_status") == [("offline",)])
    assert query(db, "SELECT channel, pid, rss_mb, cpu_pct FROM bot_metrics") == [
        ("el_serda", pid, 150.5, 2.3)
    ]
    assert query(
        db,
        "SELECT channel, model, feature, tokens_in, tokens_out, latency_ms, "
        "estimated_cost FROM llm_usage",
    ) == [("el_serda", "deepseek-chat", "joke_command", 150, 80, 1200, 0.0003)]


async def test_hello_and_ping(raw) -> None:
    client: RawClient = await raw()
    hello = await client.request({"id": "h", "type": "hello"})
    assert hello["ok"] and hello["protocol"] == 1 and hello["server_version"]
    assert (await client.request({"id": 2, "type": "ping"}))["pong"] is True


async def test_ack_only_after_commit(workdir: Path) -> None:
    # A long commit delay makes an early acknowledgement visible: the row would not be there.
    settings = make_settings(workdir, commit_max_delay_ms=50)
    ctl = new_controller(settings)
    await ctl.start()
    try:
        client = await RawClient.connect(settings.monitoring.socket_path)
        db = settings.monitoring.database_path
        for i in range(20):
            reply = await client.request(
                {"id": i, "type": "llm_usage", "channel": "c", "model": "m", "tokens_in": i}
            )
            assert reply == {"id": i, "ok": True}
            # Read through an independent connection the moment the ack arrives.
            assert query(db, "SELECT COUNT(*) FROM llm_usage WHERE tokens_in = ?", (i,)) == [(1,)]
        await client.close()
    finally:
        await ctl.stop()


async def test_bad_messages_get_typed_errors_and_others_are_unaffected(
    raw, settings: Settings
) -> None:
    good: RawClient = await raw()
    bad: RawClient = await raw()
    assert (await good.request({"id": 1, "type": "ping"}))["ok"]

    await bad.send("{oops")
    assert (await bad.recv())["error"]["code"] == "invalid_json"
    await bad.send({"id": 7, "type": "self_destruct"})
    reply = await bad.recv()
    assert reply["id"] == 7 and reply["error"]["code"] == "unknown_type"
    await bad.send({"id": 8, "type": "heartbeat", "channel": ["not", "a", "name"]})
    reply = await bad.recv()
    assert reply["id"] == 8 and reply["error"]["code"] == "invalid_message"
    # The connection survived all of that.
    assert (await bad.request({"id": 9, "type": "ping"}))["ok"]

    # A line over the limit gets its error, then only that connection is closed.
    limit = settings.monitoring.max_line_bytes
    await bad.send(b'{"type": "ping", "pad": "' + b"x" * (limit + 10) + b'"}')
    assert (await bad.recv())["error"]["code"] == "line_too_long"
    assert await asyncio.wait_for(bad.reader.read(), 10) == b""

    reply = await good.request({"id": 2, "type": "llm_usage", "channel": "c", "model": "m"})
    assert reply == {"id": 2, "ok": True}
    assert query(settings.monitoring.database_path, "SELECT COUNT(*) FROM llm_usage") == [(1,)]


async def test_socket_is_private(controller: Controller, settings: Settings) -> None:
    path = settings.monitoring.socket_path
    mode = stat.S_IMODE(path.stat().st_mode)
    assert stat.S_ISSOCK(path.stat().st_mode)
    assert mode == 0o600
    assert not stat.S_IMODE(path.parent.stat().st_mode) & 0o002


async def test_socket_with_group_is_0660(workdir: Path) -> None:
    import grp

    group = grp.getgrgid(os.getgid()).gr_name
    settings = make_settings(workdir, socket_group=group)
    ctl = new_controller(settings)
    await ctl.start()
    try:
        assert stat.S_IMODE(settings.monitoring.socket_path.stat().st_mode) == 0o660
    finally:
        await ctl.stop()


async def test_world_writable_directory_is_refused(workdir: Path) -> None:
    shared = workdir / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    settings = make_settings(workdir, socket_path=shared / "m.sock")
    with pytest.raises(PermissionError, match="world-writable"):
        await new_controller(settings).start()
    assert not (shared / "m.sock").exists()


async def test_live_socket_is_refused(
    controller: Controller, settings: Settings, workdir: Path
) -> None:
    """Another controller (its own database, so the database lock does not stop it first)
    on a socket that a live one listens on."""
    second = new_controller(make_settings(workdir, database_path=workdir / "second.db"))
    with pytest.raises(SocketInUseError, match="already listening"):
        await second.start()
    # The first server is untouched.
    client = await RawClient.connect(settings.monitoring.socket_path)
    assert (await client.request({"id": 1, "type": "ping"}))["ok"]
    await client.close()


async def test_dead_socket_is_removed(workdir: Path) -> None:
    settings = make_settings(workdir)
    path = settings.monitoring.socket_path
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(path))
    dead.close()  # the file stays, nobody listens: what a crashed monitor leaves behind
    assert path.exists()
    ctl = new_controller(settings)
    await ctl.start()
    try:
        client = await RawClient.connect(path)
        assert (await client.request({"id": 1, "type": "ping"}))["ok"]
        await client.close()
    finally:
        await ctl.stop()
    assert not path.exists()


async def test_non_socket_file_is_never_replaced(workdir: Path) -> None:
    settings = make_settings(workdir)
    settings.monitoring.socket_path.write_text("precious")
    with pytest.raises(SocketInUseError, match="not a socket"):
        await new_controller(settings).start()
    assert settings.monitoring.socket_path.read_text() == "precious"


async def test_peer_pid_check(raw, settings: Settings) -> None:
    client: RawClient = await raw()
    # pid 1 is neither us nor our child.
    reply = await client.request({"id": 1, "type": "register", "channel": "x", "pid": 1})
    assert reply["error"]["code"] == "permission_denied"
    # A child we spawned may be registered by us (a supervisor registering its worker).
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        reply = await client.request(
            {"id": 2, "type": "register", "channel": "w", "pid": child.pid}
        )
        assert reply["ok"], reply
    finally:
        child.kill()
        child.wait()
    # And the worker's death is noticed at once even though our connection stays open.
    db = settings.monitoring.database_path
    await wait_for(
        lambda: query(db, "SELECT status FROM bot_status WHERE channel='w'") == [("down",)]
    )
    assert query(db, "SELECT COUNT(*) FROM bot_status WHERE channel='x'") == [(0,)]


async def test_shutdown_removes_socket_and_keeps_acknowledged(workdir: Path) -> None:
    # Commits wait up to 50 ms for company: the writes below are still queued, unacknowledged,
    # when stop() begins, so only its flush can commit and acknowledge them.
    settings = make_settings(workdir, commit_max_delay_ms=50)
    ctl = new_controller(settings)
    await ctl.start()
    client = await RawClient.connect(settings.monitoring.socket_path)
    await client.send(
        *({"id": i, "type": "llm_usage", "channel": "c", "model": "m"} for i in range(50)),
        {"id": "p", "type": "ping"},
    )
    pong = await client.recv()
    assert pong["id"] == "p"  # the server has read every write; none is committed yet
    assert ctl.store is not None and ctl.store.writer.backlog >= 50
    await ctl.stop()
    acks = [await client.recv() for _ in range(50)]
    assert sorted(a["id"] for a in acks if a["ok"]) == list(range(50))
    assert not settings.monitoring.socket_path.exists()
    assert query(settings.monitoring.database_path, "SELECT COUNT(*) FROM llm_usage") == [(50,)]
    await client.close()


PROCESSING = {
    "type": "agent_status",
    "agent": "coder",
    "agent_type": "coder",
    "status": "processing",
    "current_task": "write main.py",
}


async def test_agent_status_and_task_results(raw, settings: Settings) -> None:
    client: RawClient = await raw()
    assert (await client.request({**PROCESSING, "id": 1}))["ok"]
    for i, success in enumerate([True, True, True, False]):
        reply = await client.request(
            {
                "id": 10 + i,
                "type": "task_result",
                "agent": "coder",
                "success": success,
                "task": f"t{i}",
                "key": f"coder-{i}",
            }
        )
        assert reply["ok"]
    # The same result replayed is not counted twice.
    await client.request(
        {"id": 20, "type": "task_result", "agent": "coder", "success": False, "key": "coder-3"}
    )
    status = await client.request({"id": 30, "type": "get_status"})
    [agent] = status["agents"]
    assert agent["status"] == "processing" and agent["current_task"] == "write main.py"
    assert (agent["tasks_completed"], agent["tasks_failed"]) == (3, 1)
    assert agent["success_rate"] == 0.75
    db = settings.monitoring.database_path
    assert query(db, "SELECT tasks_completed, tasks_failed FROM agents") == [(3, 1)]
    assert query(db, "SELECT COUNT(*) FROM agent_tasks") == [(4,)]


async def test_an_agent_status_outside_the_protocol_is_refused(raw) -> None:
    client: RawClient = await raw()
    assert (await client.request({**PROCESSING, "id": 1}))["ok"]
    bad = await client.request(
        {"id": 21, "type": "agent_status", "agent": "coder", "status": "sleeping"}
    )
    assert bad["error"]["code"] == "invalid_message"
    [agent] = (await client.request({"id": 30, "type": "get_status"}))["agents"]
    assert agent["status"] == "processing"


async def test_an_agents_error_message_is_in_the_status(raw) -> None:
    client: RawClient = await raw()
    assert (await client.request({**PROCESSING, "id": 1}))["ok"]
    await client.request(
        {
            "id": 31,
            "type": "agent_status",
            "agent": "coder",
            "status": "error",
            "error_message": "model quota exhausted",
        }
    )
    status = await client.request({"id": 32, "type": "get_status"})
    assert status["agents"][0]["error_message"] == "model quota exhausted"


async def test_scheduler_samples_the_controller_itself(workdir: Path) -> None:
    settings = make_settings(workdir, metrics_interval=0.1)
    ctl = new_controller(settings)
    await ctl.start()
    try:
        db = settings.monitoring.database_path
        await wait_for(lambda: query(db, "SELECT COUNT(*) FROM controller_metrics")[0][0] >= 2)
        [(rss,)] = query(db, "SELECT rss_mb FROM controller_metrics LIMIT 1")
        assert rss > 1
    finally:
        await ctl.stop()


async def test_flood_is_flow_controlled_and_nothing_is_lost(workdir: Path) -> None:
    settings = make_settings(workdir, max_pending_writes=100, commit_max_delay_ms=20)
    ctl = new_controller(settings)
    await ctl.start()
    try:
        client = await RawClient.connect(settings.monitoring.socket_path)
        await client.send(
            *({"id": i, "type": "llm_usage", "channel": "c", "model": "m"} for i in range(5000))
        )
        replies = [await client.recv() for _ in range(5000)]
        assert sorted(r["id"] for r in replies if r["ok"]) == list(range(5000))
        assert ctl.server is not None and ctl.server.read_pauses > 0
        await client.close()
    finally:
        await ctl.stop()
    assert query(settings.monitoring.database_path, "SELECT COUNT(*) FROM llm_usage") == [(5000,)]
