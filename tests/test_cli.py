"""The command line, run as real processes."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from chatops import __version__
from tests.conftest import RawClient


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


def test_second_controller_refuses_to_start(controller_process) -> None:
    ctl = controller_process()
    ctl.start()
    result = chatops("--config", str(ctl.config), "run")
    assert result.returncode == 1
    assert "already listening" in result.stderr
    assert ctl.proc is not None and ctl.proc.poll() is None
    ctl.stop()


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
