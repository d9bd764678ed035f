"""The cost of quotas: per usage event with a small and a huge ``llm_usage`` table, and the time
of ``/quota``'s summary for many pools and budgets.

Builds a database with N rows of ``llm_usage`` (default 10,000, then 10,000,000), starts the
controller in this process with 5 budgets over it (their totals are rebuilt once, at start:
that time is printed too), then times the quota check of one usage event (the budgets' running
totals and levels) and the whole usage path (validation, queued write, quota check). The ratio
between the two table sizes is the point: the check never scans the table. Then registers 100
pools and 100 budgets and times the summary ``/quota summary`` renders.

    python bench/quota.py
    python bench/quota.py --rows 10000,1000000 --events 5000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatops.api.door import SocketDoor
from chatops.composition.controller import Controller
from chatops.config import MonitoringConfig, Settings
from chatops.config.quotas import BudgetConfig, QuotasConfig
from chatops.services.usage import UsageLogged
from chatops.store.migrations import MIGRATIONS
from chatops.wire.peer import Peer
from chatops.wire.protocol import LlmUsage, ModelUsage, PoolReport
from cogs.quotas import summary_pages

BUDGETS = [
    BudgetConfig(name="all-month", limit=1e9, metric="cost", period="month"),
    BudgetConfig(name="claude-day", limit=1e12, metric="tokens", period="day", family="claude"),
    BudgetConfig(name="bot-week", limit=1e9, metric="calls", period="week", bot="bot-3"),
    BudgetConfig(name="sonnet-5h", limit=1e12, metric="tokens", window="5h", model="claude-sonnet"),
    BudgetConfig(name="feature-day", limit=1e9, metric="cost", period="day", feature="chat"),
]


def build(db: Path, rows: int) -> float:
    started = time.perf_counter()
    conn = sqlite3.connect(db)
    for script in MIGRATIONS:
        conn.executescript(script)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        "INSERT INTO llm_usage (ts, channel, model, feature, tokens_in, tokens_out, "
        "estimated_cost) SELECT datetime('now', '-' || (i % 2000000) || ' seconds'), "
        "'bot-' || (i % 50), CASE i % 3 WHEN 0 THEN 'claude-sonnet' WHEN 1 THEN 'gemini-3-pro' "
        "ELSE 'gpt-5' END, CASE i % 2 WHEN 0 THEN 'chat' ELSE NULL END, 100, 50, 0.001 FROM n",
        (rows - 1,),
    )
    conn.commit()
    conn.close()
    return time.perf_counter() - started


async def measure(rows: int, events: int, workdir: Path) -> dict[str, float]:
    db = workdir / f"q{rows}.db"
    built = build(db, rows)
    settings = Settings(
        monitoring=MonitoringConfig(socket_path=workdir / f"q{rows}.sock", database_path=db),
        quotas=QuotasConfig(budgets=BUDGETS),
    )
    ctl = Controller(settings, socket_door=SocketDoor)
    started = time.perf_counter()
    await ctl.start()
    rebuild = time.perf_counter() - started
    try:
        services = ctl.services
        now = time.time()
        event = UsageLogged(now, "bot-3", "claude-sonnet", "chat", 100, 50, 0.001)
        started = time.perf_counter()
        for _ in range(events):
            services.quotas.on_usage(event)
        check = (time.perf_counter() - started) / events
        peer = Peer(conn_id=1, pid=os.getpid())
        started = time.perf_counter()
        for i in range(events):
            services.usage.log_usage(
                peer,
                LlmUsage(
                    channel="bot-3",
                    model="claude-sonnet",
                    feature="chat",
                    tokens_in=100,
                    tokens_out=50,
                    estimated_cost=0.001,
                    key=f"k{rows}-{i}",
                ),
            )
        path = (time.perf_counter() - started) / events
        await ctl.store.flush()
    finally:
        await ctl.stop()
    return {"build_s": built, "rebuild_s": rebuild, "check_us": check * 1e6, "path_us": path * 1e6}


async def summary_time(workdir: Path) -> float:
    budgets = [
        BudgetConfig(name=f"budget-{i:03d}", limit=100, metric="cost", period="day")
        for i in range(100)
    ]
    settings = Settings(
        monitoring=MonitoringConfig(socket_path=workdir / "s.sock", database_path=workdir / "s.db"),
        quotas=QuotasConfig(budgets=budgets),
    )
    ctl = Controller(settings, socket_door=SocketDoor)
    await ctl.start()
    try:
        quotas = ctl.services.quotas
        peer = Peer(conn_id=1)
        for i in range(100):
            quotas.report_usage(
                peer,
                ModelUsage(
                    model_name=f"model-{i % 10}",
                    family="claude",
                    pools=[PoolReport(name=f"pool-{i:03d}", used=float(i), limit=100.0)],
                ),
            )
        rounds = 50
        started = time.perf_counter()
        for _ in range(rounds):
            pages = summary_pages(quotas.summary(), time.time())
        assert sum(len(page.fields) for page in pages) == 200
        return (time.perf_counter() - started) / rounds
    finally:
        await ctl.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="10000,10000000")
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="qb-", dir="/tmp"))
    if args.one is not None:  # one size, in a fresh process of its own
        try:
            print(json.dumps(await measure(args.one, args.events, workdir)))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return
    sizes = [int(r) for r in args.rows.split(",")]
    try:
        results = {}
        for rows in sizes:
            done = subprocess.run(
                [sys.executable, __file__, "--one", str(rows), "--events", str(args.events)],
                capture_output=True,
                text=True,
                check=True,
            )
            results[rows] = result = json.loads(done.stdout.strip().splitlines()[-1])
            print(
                f"llm_usage {rows:>11,} rows: quota check {result['check_us']:6.2f} us/event · "
                f"whole usage path {result['path_us']:6.2f} us/event · totals rebuilt at start "
                f"in {result['rebuild_s']:.2f} s (table built in {result['build_s']:.0f} s)"
            )
        small, large = results[sizes[0]], results[sizes[-1]]
        print(
            f"ratio {sizes[-1]:,} / {sizes[0]:,} rows: quota check "
            f"{large['check_us'] / small['check_us']:.2f}x · whole usage path "
            f"{large['path_us'] / small['path_us']:.2f}x (target: within 1.5x)"
        )
        print(
            f"/quota summary for 200 pools and budgets: {await summary_time(workdir) * 1e3:.2f} ms"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
