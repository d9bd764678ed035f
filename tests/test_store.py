"""The SQLite store: seed compatibility, migrations, group commit, retention."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from chatops.services.retention import RetentionService
from chatops.store import Store, StoreError
from chatops.store.migrations import MIGRATIONS, SCHEMA_VERSION
from tests.conftest import RawClient, make_settings, new_controller, query

# The seed's "Scripts utiles", verbatim.
SEED_STATUS = "SELECT channel, status, last_heartbeat FROM bot_status"
SEED_LLM_MONTH = """
SELECT 
    channel,
    SUM(tokens_in) as total_in,
    SUM(tokens_out) as total_out,
    SUM(estimated_cost) as total_cost
FROM llm_usage
WHERE ts > datetime('now', '-30 days')
GROUP BY channel
ORDER BY total_cost DESC
"""
SEED_RAM = """
SELECT 
    channel,
    AVG(rss_mb) as avg_ram,
    MAX(rss_mb) as max_ram,
    AVG(cpu_pct) as avg_cpu
FROM bot_metrics
WHERE ts > datetime('now', '-1 day')
GROUP BY channel
"""
TS_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def run_seed_script(db: Path, sql: str) -> list[list[str]]:
    """Run a script the way the seed does, with the sqlite3 shell when there is one."""
    if shutil.which("sqlite3"):
        out = subprocess.run(
            ["sqlite3", str(db), sql], check=True, capture_output=True, text=True
        ).stdout
        return [line.split("|") for line in out.splitlines()]
    conn = sqlite3.connect(db)
    try:
        return [[str(v) for v in row] for row in conn.execute(sql)]
    finally:
        conn.close()


@pytest.fixture
async def seed_db(workdir: Path) -> Path:
    """A database written by a controller, as the seed's bots would have filled it: two bots
    (kissbot unregistered), heartbeats and usage, one of each outside the seed's windows."""
    # Sixty days kept, so an event forty days old is accepted (older than the retention is not).
    # Every heartbeat stored as its own metrics row, so the seed's averages see each of them.
    settings = make_settings(
        workdir,
        database_path=workdir / "kissbot_monitor.db",
        data_retention_days=60,
        metrics_interval=0.001,
    )
    ctl = new_controller(settings)
    await ctl.start()
    now = time.time()
    pid = os.getpid()
    try:
        client = await RawClient.connect(settings.monitoring.socket_path)
        messages = [
            {"type": "register", "channel": "el_serda", "pid": pid, "features": {"llm": True}},
            {"type": "register", "channel": "kissbot", "pid": pid, "features": {}},
            {
                "type": "heartbeat",
                "channel": "el_serda",
                "pid": pid,
                "rss_mb": 100.0,
                "cpu_pct": 2.0,
            },
            {
                "type": "heartbeat",
                "channel": "el_serda",
                "pid": pid,
                "rss_mb": 200.0,
                "cpu_pct": 4.0,
            },
            {"type": "heartbeat", "channel": "kissbot", "pid": pid, "rss_mb": 50.0, "cpu_pct": 1.0},
            # Two days old: outside the seed's one-day RAM window.
            {
                "type": "heartbeat",
                "channel": "kissbot",
                "pid": pid,
                "rss_mb": 999.0,
                "cpu_pct": 99.0,
                "ts": now - 2 * 86400,
            },
            {
                "type": "llm_usage",
                "channel": "el_serda",
                "model": "deepseek-chat",
                "tokens_in": 150,
                "tokens_out": 80,
                "estimated_cost": 0.25,
            },
            {
                "type": "llm_usage",
                "channel": "el_serda",
                "model": "deepseek-chat",
                "tokens_in": 50,
                "tokens_out": 20,
                "estimated_cost": 0.25,
            },
            {
                "type": "llm_usage",
                "channel": "kissbot",
                "model": "gpt",
                "tokens_in": 10,
                "tokens_out": 5,
                "estimated_cost": 1.0,
            },
            # Forty days old: outside the monthly window.
            {
                "type": "llm_usage",
                "channel": "kissbot",
                "model": "gpt",
                "tokens_in": 9999,
                "tokens_out": 9999,
                "estimated_cost": 50.0,
                "ts": now - 40 * 86400,
            },
            {"type": "unregister", "channel": "kissbot", "pid": pid},
        ]
        for i, message in enumerate(messages):
            assert (await client.request({**message, "id": i}))["ok"]
        await client.close()
    finally:
        await ctl.stop()
    return settings.monitoring.database_path


def test_the_seed_status_script(seed_db: Path) -> None:
    status = run_seed_script(seed_db, SEED_STATUS)
    assert [(c, s) for c, s, _ in status] == [("el_serda", "online"), ("kissbot", "offline")]
    assert all(TS_FORMAT.match(ts) for _, _, ts in status)


def test_the_seed_monthly_llm_script(seed_db: Path) -> None:
    month = run_seed_script(seed_db, SEED_LLM_MONTH)
    assert [(c, int(i), int(o), float(cost)) for c, i, o, cost in month] == [
        ("kissbot", 10, 5, 1.0),
        ("el_serda", 200, 100, 0.5),
    ]


def test_the_seed_ram_script(seed_db: Path) -> None:
    ram = {
        c: (float(a), float(m), float(cpu)) for c, a, m, cpu in run_seed_script(seed_db, SEED_RAM)
    }
    assert ram == {"el_serda": (150.0, 200.0, 3.0), "kissbot": (50.0, 50.0, 1.0)}


@pytest.mark.parametrize("table", ["bot_metrics", "llm_usage", "events"])
def test_timestamps_are_stored_in_the_seeds_format(seed_db: Path, table: str) -> None:
    stamps = query(seed_db, f"SELECT ts FROM {table}")
    assert stamps and all(TS_FORMAT.match(ts) for (ts,) in stamps)


def _make_old_database(path: Path, version: int) -> None:
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:version]:
        conn.executescript(script)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.execute(
        "INSERT INTO bot_status (channel, pid, status, registered_at) "
        "VALUES ('legacy', 4242, 'offline', CURRENT_TIMESTAMP)"
    )
    conn.execute("INSERT INTO llm_usage (channel, model, tokens_in) VALUES ('legacy', 'm', 7)")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("version", [0, 1], ids=["seed-monitor-db", "chatops-v1"])
async def test_older_database_is_upgraded_and_keeps_its_data(workdir: Path, version: int) -> None:
    db = workdir / "old.db"
    # version 0 is what the seed's own monitor leaves: its tables, no user_version.
    _make_old_database(db, max(version, 1))
    if version == 0:
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA user_version = 0")
        conn.close()
    store = await Store.open(db)
    try:
        bots = await store.fleet.load_bots()
        assert [(b.channel, b.pid, b.status) for b in bots] == [("legacy", 4242, "offline")]
    finally:
        await store.close()
    assert query(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    columns = {row[1] for row in query(db, "PRAGMA table_info(bot_status)")}
    assert {"host", "rss_mb", "cpu_pct", "status_changed_at"} <= columns
    assert query(db, "SELECT tokens_in FROM llm_usage") == [(7,)]


async def test_newer_database_is_refused(workdir: Path) -> None:
    db = workdir / "future.db"
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        await Store.open(db)


async def test_database_file_is_private(workdir: Path) -> None:
    store = await Store.open(workdir / "private.db")
    await store.close()
    assert (workdir / "private.db").stat().st_mode & 0o077 == 0


async def test_many_messages_share_a_transaction(workdir: Path) -> None:
    settings = make_settings(workdir)
    ctl = new_controller(settings)
    await ctl.start()
    try:
        assert ctl.store is not None
        before = ctl.store.writer.batches_committed
        client = await RawClient.connect(settings.monitoring.socket_path)
        await client.send(
            *({"id": i, "type": "llm_usage", "channel": "c", "model": "m"} for i in range(2000))
        )
        replies = [await client.recv() for _ in range(2000)]
        await client.close()
        assert all(r["ok"] for r in replies)
        assert sorted(r["id"] for r in replies) == list(range(2000))
        assert ctl.store.writer.batches_committed - before < 200
    finally:
        await ctl.stop()
    assert query(settings.monitoring.database_path, "SELECT COUNT(*) FROM llm_usage") == [(2000,)]


async def test_retention_deletes_only_old_rows_in_batches(workdir: Path) -> None:
    store = await Store.open(workdir / "r.db", max_delay=0)
    now = time.time()
    try:
        for i in range(25):
            old = now - 10 * 86400 - i
            store.usage.add_llm_usage(
                old, "c", "old", None, 1, 1, None, 0.0, key=f"old-{i}", received_at=old
            )
        for i in range(5):
            store.usage.add_llm_usage(
                now - 86400, "c", "new", None, 1, 1, None, 0.0, key=f"new-{i}", received_at=now
            )
        await store.flush()
        batches_before = store.writer.batches_committed
        deleted = await RetentionService(
            store, retention_days=7, batch_size=4, clock=lambda: now
        ).run()
        assert deleted["llm_usage"] == 25 and deleted["idempotency_keys"] == 25
        # Small batches: many short transactions instead of one long one.
        assert store.writer.batches_committed - batches_before >= 25 // 4
        assert await store.db.load_keys(0) == {f"new-{i}" for i in range(5)}
    finally:
        await store.close()
    assert query(workdir / "r.db", "SELECT model, COUNT(*) FROM llm_usage GROUP BY model") == [
        ("new", 5)
    ]


async def test_retention_keeps_unsettled_alerting_rows(workdir: Path) -> None:
    from chatops.presentation.fleet_alerts import fleet_notice
    from chatops.records.alerts import Incident, OutboxItem, Severity

    store = await Store.open(workdir / "alerts.db", max_delay=0)
    tables = store.alerts
    now = time.time()
    old = now - 30 * 86400
    alert = fleet_notice("down", "a", "down", "x", old, Severity.CRITICAL)
    try:
        for item in (
            OutboxItem(1, old, "s", alert, 1, 0.0, old, None, "g1"),  # delivered long ago: goes
            OutboxItem(2, old, "s", alert, 9, now + 60, None, "503"),  # still pending: stays
            OutboxItem(3, old, "s", alert, 3, 1e18, None, "410", "g3"),  # abandoned: goes
        ):
            tables.save_outbox(item)
        for incident_id, subject, resolved in ((1, "a", old), (2, "b", None)):
            tables.save_incident(
                Incident(
                    incident_id, subject, "down", old, Severity.CRITICAL, "down", "x", old, resolved
                )
            )
        await store.flush()
        deleted = await RetentionService(
            store, retention_days=7, batch_size=10, clock=lambda: now
        ).run()
        assert deleted["alert_outbox"] == 2 and deleted["incidents"] == 1
        assert [item.id for item in (await tables.pending_outbox()).rows] == [2]
        open_incidents = await tables.open_incidents()
        assert [i.subject for i in open_incidents.rows] == ["b"] and open_incidents.next_id == 3
    finally:
        await store.close()


async def test_a_clean_shutdown_leaves_no_write_ahead_log(workdir: Path) -> None:
    """Closing checkpoints the WAL into the database: nothing but the file is left beside it,
    whether the store was written to or only opened, and whether a controller or a bare store
    closed it."""
    for name, writes in (("written.db", 50), ("opened.db", 0)):
        db = workdir / name
        store = await Store.open(db)
        for index in range(writes):
            store.db.writer.add(
                "INSERT INTO controller_meta (key, value) VALUES (?, ?)", (f"k{index}", "v")
            )
        await store.flush()
        assert db.with_name(name + "-wal").exists()  # WAL mode while open
        await store.close()
        assert not db.with_name(name + "-wal").exists(), name
        assert not db.with_name(name + "-shm").exists(), name
        assert query(db, "SELECT COUNT(*) FROM controller_meta WHERE key LIKE 'k%'") == [(writes,)]
    settings = make_settings(workdir, database_path=workdir / "ctl.db")
    ctl = new_controller(settings)
    await ctl.start()
    client = await RawClient.connect(settings.monitoring.socket_path)
    reply = await client.request(
        {"id": 1, "type": "register", "channel": "w", "pid": os.getpid(), "features": {}}
    )
    assert reply["ok"]
    await client.close()
    await ctl.stop()
    beside = [p.name for p in workdir.glob("ctl.db-*")]
    assert beside == [] and (workdir / "ctl.db").exists()


async def test_close_returns_when_a_write_lands_after_its_flush(workdir: Path) -> None:
    """A write queued between close()'s flush and its stop must be committed, and close must
    return: the writer's loop used to clear close's wake-up while taking that batch, then wait
    for another that never came."""
    import asyncio

    from chatops.records.fleet import FleetEvent

    store = await Store.open(workdir / "close.db", max_delay=0.05)
    writer = store.writer
    flush = writer.flush

    async def flush_then_a_write() -> None:
        await flush()
        store.fleet.add_event(FleetEvent(ts=1_800_000_000.0, channel="late", kind="test"))

    writer.flush = flush_then_a_write  # type: ignore[method-assign]
    await asyncio.wait_for(store.close(), 10)
    assert query(workdir / "close.db", "SELECT channel FROM events") == [("late",)]
