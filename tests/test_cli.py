"""The command line, run as real processes."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import yaml

from chatops import __version__
from tests.conftest import RawClient, kill_quietly, spawn_bot, wait_for


def chatops(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatops.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_version() -> None:
    result = chatops("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"chatops {__version__}"


async def test_status_from_server_then_from_database(controller_process, workdir: Path) -> None:
    ctl = controller_process()
    ctl.start()
    client = await RawClient.connect(ctl.socket_path)
    import os

    assert (
        await client.request(
            {
                "id": 1,
                "type": "register",
                "channel": "alpha",
                "pid": os.getpid(),
                "features": {"llm": True},
            }
        )
    )["ok"]
    assert (
        await client.request(
            {"id": 2, "type": "heartbeat", "channel": "alpha", "rss_mb": 123.4, "cpu_pct": 5.0}
        )
    )["ok"]
    live = chatops("--config", str(ctl.config), "status")
    assert live.returncode == 0, live.stderr
    assert "from monitor" in live.stdout
    [row] = [line for line in live.stdout.splitlines() if line.startswith("alpha")]
    assert "online" in row and "123.4" in row and "llm" in row

    await client.send({"id": 3, "type": "unregister", "channel": "alpha"})
    assert (await client.recv())["ok"]
    await client.close()
    assert ctl.stop(signal.SIGTERM) == 0
    assert not ctl.socket_path.exists()  # graceful shutdown removed it

    offline = chatops("--config", str(ctl.config), "status")
    assert offline.returncode == 0
    assert "database (monitor not running)" in offline.stdout
    [row] = [line for line in offline.stdout.splitlines() if line.startswith("alpha")]
    assert "offline" in row


def test_second_controller_refuses_to_start(controller_process, workdir: Path) -> None:
    """On the same socket (with a database of its own): the socket is in use."""
    ctl = controller_process()
    ctl.start()
    other = write_config(workdir / "other.yaml", ctl.socket_path, workdir / "other.db")
    result = chatops("--config", str(other), "run")
    assert result.returncode == 1
    assert "already listening" in result.stderr
    assert ctl.proc is not None and ctl.proc.poll() is None
    ctl.stop()


async def test_one_database_one_controller(controller_process, workdir: Path) -> None:
    """A second controller on the same database, with a socket of its own, would take the
    first's live bots for its own and mark them down: it exits 1 with one line naming the
    holder, before touching the database or the socket. A crashed holder leaves no lock."""
    first = controller_process()
    first.start()
    assert first.proc is not None
    bot = spawn_bot("simple_bot.py", str(first.socket_path), "alpha", "0.2")
    try:
        assert bot.stdout is not None
        ready = await asyncio.wait_for(asyncio.to_thread(bot.stdout.readline), 20)
        assert ready.strip() == b"READY"
        second = write_config(workdir / "second.yaml", workdir / "second.sock", first.db)
        result = chatops("--config", str(second), "run", timeout=30)
        assert result.returncode == 1, result.stderr
        assert result.stderr.splitlines() == [
            f"chatops: another controller (pid {first.proc.pid}) is using {first.db}"
        ]
        assert not (workdir / "second.sock").exists()
        lock = workdir / "chatops.db.lock"
        assert lock.read_text() == f"{first.proc.pid}\n" and lock.stat().st_mode & 0o777 == 0o600
        assert first.proc.poll() is None
        status = chatops("--config", str(first.config), "status", "--json")
        [alpha] = json.loads(status.stdout)["bots"]
        assert alpha["channel"] == "alpha" and alpha["status"] == "online"

        first.stop(signal.SIGKILL)  # the kernel drops the lock with its holder
        again = subprocess.Popen(
            [sys.executable, "-m", "chatops.cli", "--config", str(second), "run"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            await wait_for(lambda: again.poll() is not None or (workdir / "second.sock").exists())
            assert again.poll() is None
            assert lock.read_text() == f"{again.pid}\n"
        finally:
            again.send_signal(signal.SIGTERM)
            assert again.wait(20) == 0
    finally:
        kill_quietly(bot)


def write_config(path: Path, socket_path: Path, database: Path) -> Path:
    body = {"monitoring": {"socket_path": str(socket_path), "database_path": str(database)}}
    path.write_text(yaml.safe_dump(body))
    return path


async def test_status_never_prints_a_raw_escape_sequence(workdir: Path) -> None:
    """A name stored before names were checked (or by hand) is shown escaped, never obeyed."""
    import sqlite3

    from chatops.store import Store

    db = workdir / "chatops.db"
    store = await Store.open(db)  # the current schema
    await store.close()
    conn = sqlite3.connect(db)
    conn.execute(
        "INSERT INTO bot_status (channel, pid, status, features_json, registered_at, "
        "last_heartbeat) VALUES (?, 1, 'offline', ?, '2026-01-01 00:00:00', "
        "'2026-01-01 00:00:00')",
        ("evil\x1b[2J\x1b]0;pwned\x07", '{"\\u001b[31mred": true}'),
    )
    conn.commit()
    conn.close()
    config = workdir / "c.yaml"
    config.write_text(f"monitoring:\n  database_path: {db}\n  socket_path: {workdir}/none.sock\n")
    result = chatops("--config", str(config), "status")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "evil\\x1b[2J\\x1b]0;pwned\\x07" in result.stdout and "\\x1b[31mred" in result.stdout
