"""A bot name belongs to the connection that registered it: forged messages from another
process are refused over a real socket, and the real bot's death still raises its alert."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from chatops.composition.controller import Controller
from chatops.config import Settings
from chatops.wire.peer import Peer, uid_refusal
from chatops.wire.server import ConnectionLimits, MonitorServer
from tests.conftest import RawClient, bot_status, handler_table, query, wait_for

# Sends each line of argv[2] (JSON list) on one connection from a separate process and prints
# the replies, one per line: "another local user's process" as the controller sees it.
_OTHER_PROCESS = """
import json, socket, sys
messages = json.loads(sys.argv[2])
with socket.socket(socket.AF_UNIX) as s:
    s.settimeout(10)
    s.connect(sys.argv[1])
    f = s.makefile("rwb")
    for m in messages:
        f.write(json.dumps(m).encode() + b"\\n"); f.flush()
        print(f.readline().decode().strip(), flush=True)
"""


async def as_other_process(path: Path, *messages: dict[str, Any]) -> list[dict[str, Any]]:
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", _OTHER_PROCESS, str(path), json.dumps(list(messages))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


async def test_forged_messages_from_another_process_are_refused(
    raw, controller: Controller, settings: Settings
) -> None:
    path = settings.monitoring.socket_path
    owner: RawClient = await raw()
    # The victim is a worker we registered (a supervisor's case); the forger is an unrelated
    # process, neither the worker nor a descendant of it.
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    register = {"id": 1, "type": "register", "channel": "victim", "pid": worker.pid}
    assert (await owner.request(register))["ok"]

    forged = await as_other_process(
        path,
        {"id": 1, "type": "unregister", "channel": "victim"},
        {"id": 2, "type": "heartbeat", "channel": "victim", "rss_mb": 1.0},
        {"id": 3, "type": "llm_usage", "channel": "victim", "model": "m", "tokens_in": 10**6},
        {"id": 4, "type": "agent_status", "agent": "a", "status": "idle", "channel": "victim"},
        {"id": 5, "type": "heartbeat", "channel": "never-registered", "pid": 1},
    )
    codes = [reply["error"]["code"] for reply in forged]
    assert codes == ["permission_denied"] * 4 + ["not_registered"]
    assert "registered" in forged[0]["error"]["message"]

    await controller.store.flush()  # type: ignore[union-attr]
    db = settings.monitoring.database_path
    assert bot_status(db, "victim") == "online"
    assert query(db, "SELECT COUNT(*) FROM llm_usage") == [(0,)]
    assert query(db, "SELECT COUNT(*) FROM bot_status WHERE channel = 'never-registered'") == [(0,)]
    # The real owner still speaks for it, and its death is still told.
    assert (await owner.request({"id": 2, "type": "heartbeat", "channel": "victim"}))["ok"]
    worker.kill()
    worker.wait()
    await wait_for(lambda: controller.services.fleet.bots["victim"].status == "down")  # type: ignore[union-attr]


async def test_live_owner_cannot_be_displaced_but_a_gone_one_can(
    raw, controller: Controller, settings: Settings
) -> None:
    path = settings.monitoring.socket_path
    # A helper process that registers itself and stays connected until we release it.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import json, socket, sys, os\n"
            "s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])\n"
            "s.sendall(json.dumps({'id': 1, 'type': 'register', 'channel': 'held',"
            " 'pid': os.getpid()}).encode() + b'\\n')\n"
            "print(s.makefile().readline(), flush=True)\n"
            "sys.stdin.read()\n",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = await asyncio.to_thread(holder.stdout.readline)  # type: ignore[union-attr]
        assert json.loads(line)["ok"]
        me: RawClient = await raw()
        takeover = {"id": 1, "type": "register", "channel": "held", "pid": os.getpid()}
        refused = await me.request(takeover)
        assert refused["error"]["code"] == "permission_denied"
        assert "live connection" in refused["error"]["message"]
        assert controller.services.fleet.bots["held"].pid == holder.pid  # type: ignore[union-attr]
    finally:
        holder.stdin.close()  # type: ignore[union-attr]
        holder.wait(10)
    # The owner is gone (connection closed, process exited): the restart case takes it over.
    await wait_for(lambda: controller.services.fleet.bots["held"].status == "down")  # type: ignore[union-attr]
    assert (await me.request({**takeover, "id": 2}))["ok"]
    assert controller.services.fleet.bots["held"].pid == os.getpid()  # type: ignore[union-attr]
    assert controller.services.fleet.bots["held"].uid == os.getuid()  # type: ignore[union-attr]
    await controller.store.flush()  # type: ignore[union-attr]
    assert query(
        settings.monitoring.database_path, "SELECT uid FROM bot_status WHERE channel = 'held'"
    ) == [(os.getuid(),)]


async def test_same_process_may_speak_on_a_new_connection(
    raw, controller: Controller, settings: Settings
) -> None:
    """The seed's connectionless clients: a new connection per message, same pid."""
    first: RawClient = await raw()
    assert (
        await first.request({"id": 1, "type": "register", "channel": "seed", "pid": os.getpid()})
    )["ok"]
    second: RawClient = await raw()
    reply = await second.request({"id": 2, "type": "heartbeat", "channel": "seed", "rss_mb": 5.0})
    assert reply["ok"], reply
    assert controller.services.fleet.bots["seed"].rss_mb == 5.0  # type: ignore[union-attr]


def test_uid_rule() -> None:
    me = os.geteuid()
    assert uid_refusal(Peer(conn_id=1, pid=1, uid=me, gid=0), me, None) is None
    stranger = Peer(conn_id=2, pid=None, uid=me + 4242, gid=me + 4242)
    assert "socket_group" in (uid_refusal(stranger, me, None) or "")
    assert uid_refusal(stranger, me, me + 4242) is None  # primary group is socket_group
    assert uid_refusal(Peer(conn_id=3), me, None) is None  # a transport without credentials


async def test_refused_uid_gets_an_error_and_changes_nothing(workdir: Path) -> None:
    from chatops.store import Store

    store = await Store.open(workdir / "u.db", max_delay=0)
    server = MonitorServer(
        handler_table(),
        store.writer,
        on_disconnect=lambda peer: None,
        limits=ConnectionLimits(),
        admission=lambda peer: f"uid {peer.uid} is not allowed",
    )
    await server.serve_unix(workdir / "u.sock")
    try:
        client = await RawClient.connect(workdir / "u.sock")
        reply = await client.recv()
        assert reply["error"]["code"] == "permission_denied"
        assert await client.reader.read() == b""  # closed
        assert server.refused_connections["uid"] == 1 and not server.connections
    finally:
        await server.stop_accepting()
        await server.close_connections()
        await store.close()
