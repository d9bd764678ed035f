"""Acknowledged means stored, stored means usable: unwritable databases, failing commits,
retention by time, and the status read path."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from chatops.cli import main
from chatops.config.quotas import BudgetConfig, QuotasConfig
from chatops.services.retention import RetentionService
from chatops.store import Store
from tests.conftest import RawClient, make_settings, new_controller, query


def _run_as_unprivileged(args: list[str]) -> list[str]:
    """Run as a user who cannot write root's files: nobody, when the tests run as root."""
    if os.geteuid() != 0:
        return args
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot drop to an unprivileged user")
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *args]


def test_unwritable_database_is_refused_at_start(workdir: Path) -> None:
    db = workdir / "data" / "chatops.db"
    db.parent.mkdir(mode=0o700)
    store_made = subprocess.run(
        [sys.executable, "-c", "import sqlite3,sys; sqlite3.connect(sys.argv[1]).close()", str(db)],
        check=True,
    )
    assert store_made.returncode == 0
    if os.geteuid() != 0:
        db.chmod(0o444)
    else:
        # Another user's run left it in our (nobody's) data directory: owned by root, readable
        # by all, writable by nobody else.
        os.chmod(workdir, 0o755)
        os.chown(db.parent, 65534, 65534)
        db.chmod(0o644)
    run_dir = Path(__import__("tempfile").mkdtemp(prefix="co-nb-", dir="/tmp"))
    try:
        os.chmod(run_dir, 0o777 if os.geteuid() == 0 else 0o700)
        config = run_dir / "c.yaml"
        config.write_text(
            f"monitoring:\n  database_path: {db}\n  socket_path: {run_dir}/s/m.sock\n"
        )
        config.chmod(0o644)
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(run_dir), "PYTHONPATH": os.getcwd()}
        result = subprocess.run(
            _run_as_unprivileged(
                [sys.executable, "-m", "chatops.cli", "--config", str(config), "run"]
            ),
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            cwd=os.getcwd(),
        )
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "not writable" in lines[0] and "Traceback" not in result.stderr


async def test_failing_commits_make_the_controller_say_degraded(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(workdir)
    ctl = new_controller(settings)
    await ctl.start()
    try:
        client = await RawClient.connect(settings.monitoring.socket_path)
        assert (await client.request({"id": 0, "type": "get_status"}))["controller"] == {
            "degraded": False,
            "reason": None,
        }
        assert ctl.store is not None

        def read_only(conn: sqlite3.Connection, on: int) -> None:
            # From the next transaction on, SQLite refuses every write on this connection.
            conn.execute(f"PRAGMA query_only = {on}").fetchall()

        await ctl.store.writer.run(lambda conn: read_only(conn, 1))
        reply = await client.request({"id": 1, "type": "llm_usage", "channel": "c", "model": "m"})
        assert reply["error"]["code"] == "storage_error"
        status = await client.request({"id": "s", "type": "get_status"})
        assert status["controller"]["degraded"] is True
        assert "readonly" in status["controller"]["reason"]
        capsys.readouterr()
        os.environ["CHATOPS_MONITORING__SOCKET_PATH"] = str(settings.monitoring.socket_path)
        try:
            assert await asyncio.to_thread(main, ["status"]) == 0
        finally:
            del os.environ["CHATOPS_MONITORING__SOCKET_PATH"]
        assert "controller degraded" in capsys.readouterr().out

        # Pragmas are not writes: this one gets through and the store recovers.
        await ctl.store.writer.run(lambda conn: read_only(conn, 0))
        assert (
            await client.request({"id": "ok", "type": "llm_usage", "channel": "c", "model": "m"})
        )["ok"]
        status = await client.request({"id": "s2", "type": "get_status"})
        assert status["controller"]["degraded"] is False
        await client.close()
    finally:
        await ctl.stop()


async def test_retention_deletes_late_stored_rows_by_time(workdir: Path) -> None:
    store = await Store.open(workdir / "r.db", max_delay=0)
    now = time.time()
    try:
        # Fresh rows first, then expired ones stored after them (a spool replayed late).
        for _ in range(50):
            store.usage.add_llm_usage(
                now - 60, "c", "fresh", None, 1, 1, None, 0.0, received_at=now
            )
        for _ in range(30):
            store.usage.add_llm_usage(
                now - 9 * 86400, "c", "late", None, 1, 1, None, 0.0, received_at=now
            )
        await store.flush()
        deleted = await RetentionService(store, 7, batch_size=7, clock=lambda: now).run()
        assert deleted["llm_usage"] == 30
    finally:
        await store.close()
    assert query(workdir / "r.db", "SELECT model, COUNT(*) FROM llm_usage GROUP BY model") == [
        ("fresh", 50)
    ]


async def test_status_of_an_empty_fleet(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = make_settings(workdir)
    env_key = "CHATOPS_MONITORING__DATABASE_PATH"
    os.environ[env_key] = str(settings.monitoring.database_path)
    os.environ["CHATOPS_MONITORING__SOCKET_PATH"] = str(settings.monitoring.socket_path)
    try:
        assert main(["status"]) == 3  # controller down, no database yet: nothing to read
        shown = capsys.readouterr()
        assert shown.out == "" and "no database at" in shown.err
        ctl = new_controller(settings)
        await ctl.start()
        try:
            assert await asyncio.to_thread(main, ["status"]) == 0  # controller up
            out = capsys.readouterr().out
            assert "CHANNEL" in out and "0 bots, from monitor" in out
        finally:
            await ctl.stop()
    finally:
        del os.environ[env_key]
        del os.environ["CHATOPS_MONITORING__SOCKET_PATH"]


async def test_usage_whose_commit_failed_is_counted_once_when_sent_again(workdir: Path) -> None:
    """A failed commit answers ``storage_error`` and the client sends the event again with its
    key: the budget counts it once, when it is really stored, not once per attempt."""
    settings = make_settings(workdir)
    settings.quotas = QuotasConfig(budgets=[BudgetConfig(name="calls", limit=100, metric="calls")])
    ctl = new_controller(settings)
    await ctl.start()
    try:
        assert ctl.store is not None
        budget = ctl.services.quotas.budgets["calls"]
        client = await RawClient.connect(settings.monitoring.socket_path)
        usage = {"type": "llm_usage", "channel": "c", "model": "m", "key": "call-1"}

        def read_only(conn: sqlite3.Connection, on: int) -> None:
            conn.execute(f"PRAGMA query_only = {on}").fetchall()

        await ctl.store.writer.run(lambda conn: read_only(conn, 1))
        failed = await client.request({**usage, "id": 1})
        assert failed["error"]["code"] == "storage_error"
        assert budget.total == 0  # nothing stored, nothing counted
        await ctl.store.writer.run(lambda conn: read_only(conn, 0))
        assert (await client.request({**usage, "id": 2}))["ok"]
        assert (await client.request({**usage, "id": 3}))["ok"]  # a replay: acknowledged only
        assert budget.total == 1
        assert query(settings.monitoring.database_path, "SELECT COUNT(*) FROM llm_usage") == [(1,)]
        await client.close()
    finally:
        await ctl.stop()


async def test_the_socket_answers_while_budgets_rebuild_and_counts_usage_once(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The budgets' rebuild from ``llm_usage`` at start (seconds at millions of rows) must not
    keep the socket closed: it opens first, the budgets say ``loading`` meanwhile, and usage
    logged during the rebuild is in the totals once it is done, exactly once."""
    settings = make_settings(workdir)
    settings.quotas = QuotasConfig(budgets=[BudgetConfig(name="calls", limit=100, metric="calls")])
    usage = {"type": "llm_usage", "channel": "c", "model": "m"}
    ctl = new_controller(settings)
    await ctl.start()
    client = await RawClient.connect(settings.monitoring.socket_path)
    for n in range(3):
        assert (await client.request({**usage, "id": n}))["ok"]
    await client.close()
    await ctl.stop()

    from chatops.store.quotas import QuotaTables

    rebuilding, go_on = asyncio.Event(), asyncio.Event()
    usage_since = QuotaTables.usage_since

    async def held_rebuild(self: QuotaTables, *args: Any, **kwargs: Any) -> float:
        rebuilding.set()
        await go_on.wait()
        return await usage_since(self, *args, **kwargs)

    monkeypatch.setattr(QuotaTables, "usage_since", held_rebuild)
    ctl = new_controller(settings)
    await ctl.start()
    try:
        await asyncio.wait_for(rebuilding.wait(), 10)
        quotas = ctl.services.quotas
        client = await RawClient.connect(settings.monitoring.socket_path)
        assert (await client.request({"id": "p", "type": "ping"}))["pong"]
        bot = await RawClient.connect(settings.monitoring.socket_path)
        register = {"id": "r", "type": "register", "channel": "b", "pid": os.getpid()}
        assert (await bot.request(register))["ok"]
        await bot.close()  # diagnostics would ping it
        for n in range(10, 12):
            assert (await client.request({**usage, "id": n}))["ok"]  # committed
        summary = await client.request({"id": "q", "type": "get_quota_summary"})
        [view] = summary["quotas"]
        assert (view["level"], view["used"], view["pct_left"]) == ("loading", None, None)
        checks = {c.name: c for c in await ctl.services.diagnostics.run_diagnostics()}
        assert checks["quotas"].status == "warning"
        assert not quotas.loaded.is_set()

        go_on.set()
        await asyncio.wait_for(quotas.loaded.wait(), 10)
        assert quotas.budgets["calls"].total == 5  # 3 before the restart, 2 during the rebuild
        [view] = (await client.request({"id": "q2", "type": "get_quota_summary"}))["quotas"]
        assert (view["level"], view["used"]) == ("ok", 5)
        assert (await client.request({**usage, "id": 20}))["ok"]
        assert quotas.budgets["calls"].total == 6
        await client.close()
    finally:
        await ctl.stop()
