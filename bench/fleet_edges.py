"""``python bench/fleet_scale.py edges``: simulated edges against one hub, through a real
nats-server (Debian's), for minutes.

Each simulated edge is one NATS connection speaking the edges' own messages
(:mod:`chatops.nats.messages`): a beat every second carrying the bots whose figures are due
(each bot's once per ``metrics_interval``, as ``chatops edge`` sends them), an LLM usage event
every ``--usage-every`` seconds through JetStream with its ``Nats-Msg-Id`` (the time to
JetStream's ack is the event ack measured), and the full list of its bots when the hub asks
(``resync``). The edges run in a few processes. The hub is a real ``chatops run`` with
``nats.url``; the floor, in the same run, is a bare nats-py process that takes the same beats
and events and acknowledges them, doing nothing else.

Printed for each: the receiving process's CPU and RSS over the steady window, nats-server's
CPU, the event ack p50/p99, and what the hub made of it: bots known, hosts it called down, bots
not online (a false stale would show there).

    python bench/fleet_scale.py edges                          # 1,000 edges x 100 bots, 10 min
    python bench/fleet_scale.py edges --edges 100 --minutes 1  # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CLK_TCK = os.sysconf("SC_CLK_TCK")

EDGES = r"""
import asyncio, json, os, random, sys, time
import nats
from chatops.nats.messages import ENCODER, Beat, Subjects, UsageReported, Answer
from chatops.records.hosts import BotReport

url, first, last, bots, seconds, usage_every, metrics_every = sys.argv[1:8]
first, last, bots = int(first), int(last), int(bots)
seconds, usage_every, metrics_every = float(seconds), float(usage_every), float(metrics_every)
acks = []

def report(host, i, now):
    return BotReport(name=f"bot{i}", pid=10000 + i, status="online", changed_at=now - 60,
                     last_heartbeat=now, registered_at=now - 60, rss_mb=100.0 + i % 50,
                     cpu_pct=1.0 + i % 7, uid=1000, features={"llm": True})

async def edge(n, start, stop):
    host = f"sim-{n}"
    subjects = Subjects("chatops", host)
    nc = await nats.connect(url, inbox_prefix=subjects.inbox.encode(), max_reconnect_attempts=-1)
    js = nc.jetstream()
    started = time.time()

    async def answer(msg):
        now = time.time()
        if msg.subject.endswith(".resync"):
            data = {"bots": [json.loads(ENCODER.encode(report(host, i, now))) for i in range(bots)]}
            await msg.respond(ENCODER.encode(Answer(data=data)))
        else:
            await msg.respond(ENCODER.encode(Answer(error="unsupported")))

    await nc.subscribe(subjects.commands, cb=answer)
    await asyncio.sleep(random.random())
    seq, next_usage, cursor = 0, time.monotonic() + random.random() * usage_every, 0
    per_beat = max(1, round(bots / metrics_every))
    while time.monotonic() < stop:
        seq += 1
        now = time.time()
        due = [report(host, (cursor + k) % bots, now) for k in range(per_beat)]
        cursor = (cursor + per_beat) % bots
        beat = Beat(host=host, seq=seq, started_at=started, bots=due)
        await nc.publish(subjects.beat, ENCODER.encode(beat))
        if time.monotonic() >= next_usage:
            next_usage += usage_every
            event = UsageReported(
                name=f"bot{seq % bots}", model="gpt-4o", ts=now, tokens_in=100, tokens_out=20
            )
            sent = time.monotonic()
            try:
                await js.publish(subjects.event("usage"), ENCODER.encode(event), timeout=10,
                                 headers={"Nats-Msg-Id": f"{host}-{seq}"})
                if sent >= start:
                    acks.append(time.monotonic() - sent)
            except Exception:
                acks.append(float("inf"))
        await asyncio.sleep(1.0)
    await nc.close()

async def main():
    start = time.monotonic() + 30  # connecting and the hub's first resyncs are not measured
    stop = start + seconds
    await asyncio.gather(*(edge(n, start, stop) for n in range(first, last)))
    print(json.dumps(acks), flush=True)

asyncio.run(main())
"""

FLOOR = r"""
import asyncio, sys
import nats
from nats.js.api import StreamConfig

async def main(url):
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="CHATOPS_EDGES", subjects=["chatops.edge.*.events.>"],
                                     duplicate_window=86400))
    beats = 0
    async def beat(msg):
        nonlocal beats
        beats += 1
    await nc.subscribe("chatops.edge.*.beat", cb=beat)
    sub = await js.pull_subscribe("chatops.edge.*.events.>", durable="hub", stream="CHATOPS_EDGES")
    print("READY", flush=True)
    while True:
        try:
            msgs = await sub.fetch(256, timeout=1)
        except Exception:
            continue
        for m in msgs:
            await m.ack()

asyncio.run(main(sys.argv[1]))
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_nats(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("nats-server")
    if binary is None:
        raise SystemExit("nats-server is not installed (Debian package nats-server)")
    port = free_port()
    config = work / "nats.conf"
    config.write_text(
        f'listen: 127.0.0.1:{port}\nmax_payload: 8MB\njetstream {{ store_dir: "{work / "js"}" }}\n'
    )
    proc = subprocess.Popen(
        [binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"nats://127.0.0.1:{port}"
    end = time.monotonic() + 20
    while time.monotonic() < end:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return proc, url
        time.sleep(0.05)
    raise SystemExit("nats-server did not start")


def start_hub(work: Path, url: str, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    config = work / "hub.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "monitoring": {
                    "socket_path": str(work / "hub.sock"),
                    "database_path": str(work / "hub.db"),
                    "heartbeat_interval": 1,
                    "metrics_interval": args.metrics_every,
                },
                "nats": {"url": url},
                "logging": {"level": "WARNING"},
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.Popen(
        [sys.executable, "-m", "chatops.cli", "--config", str(config), "run"],
        stdout=(work / "hub.log").open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
        cwd=ROOT,
    )


def start_floor(url: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", FLOOR, url], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"READY"
    return proc


def run_once(name: str, args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="fleet-edges-") as tmp:
        work = Path(tmp)
        nats_proc, url = start_nats(work)
        receiver = start_floor(url) if name == "floor" else start_hub(work, url, args)
        try:
            if name == "hub":
                time.sleep(3)  # the hub creates the stream before edges publish
            seconds = args.minutes * 60
            per = -(-args.edges // args.procs)
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            options = [str(args.bots), str(seconds), str(args.usage_every), str(args.metrics_every)]
            script = [sys.executable, "-c", EDGES, url]
            gens = [
                subprocess.Popen(
                    [*script, str(first), str(min(args.edges, first + per)), *options],
                    stdout=subprocess.PIPE,
                    env=env,
                )
                for first in range(0, args.edges, per)
            ]
            time.sleep(30)  # the edges' start (as in the generator)
            cpu0, nats0, t0 = (
                cpu_seconds(receiver.pid),
                cpu_seconds(nats_proc.pid),
                time.monotonic(),
            )
            peak = 0.0
            while any(gen.poll() is None for gen in gens) and time.monotonic() < t0 + seconds:
                peak = max(peak, rss_mb(receiver.pid))
                time.sleep(1)
            elapsed = time.monotonic() - t0
            cpu = (cpu_seconds(receiver.pid) - cpu0) / elapsed * 100
            nats_cpu = (cpu_seconds(nats_proc.pid) - nats0) / elapsed * 100
            acks: list[float] = []
            for gen in gens:
                out, _ = gen.communicate(timeout=120)
                acks += json.loads(out.splitlines()[-1])
            time.sleep(2)
            result: dict[str, object] = {
                "receiver": name,
                "cpu_pct": cpu,
                "rss_mb": peak,
                "nats_cpu_pct": nats_cpu,
                **percentiles(acks),
            }
            if name == "hub":
                result.update(hub_view(work / "hub.db"))
            return result
        finally:
            for proc in (receiver, nats_proc):
                proc.terminate()
                proc.wait(60)


def percentiles(acks: list[float]) -> dict[str, object]:
    done = sorted(a for a in acks if a != float("inf"))
    if not done:
        return {"events": 0, "failed": len(acks), "ack_p50_ms": 0.0, "ack_p99_ms": 0.0}
    return {
        "events": len(done),
        "failed": len(acks) - len(done),
        "ack_p50_ms": done[len(done) // 2] * 1000,
        "ack_p99_ms": done[min(len(done) - 1, int(len(done) * 0.99))] * 1000,
    }


def hub_view(db: Path) -> dict[str, object]:
    conn = sqlite3.connect(db)
    try:
        statuses = dict(conn.execute("SELECT status, COUNT(*) FROM bot_status GROUP BY status"))
        hosts_down = conn.execute(
            "SELECT COUNT(*) FROM incidents WHERE kind = 'host_down'"
        ).fetchone()[0]
        usage = conn.execute("SELECT COUNT(*) FROM llm_usage").fetchone()[0]
    finally:
        conn.close()
    return {"bots": statuses, "host_down_incidents": hosts_down, "usage_rows": usage}


def edges(args: argparse.Namespace) -> None:
    results = [run_once(name, args) for name in args.receivers.split(",")]
    print(
        f"\n{args.edges:,} edges x {args.bots} bots ({args.edges * args.bots:,}), "
        f"{args.minutes:g} min steady, a usage event every {args.usage_every:g} s per edge, "
        f"figures every {args.metrics_every:g} s per bot, {args.procs} edge processes"
    )
    print(
        f"{'receiver':<10}{'CPU %':>8}{'RSS MB':>9}{'nats CPU %':>12}{'events':>9}"
        f"{'ack p50':>10}{'ack p99':>10}  hub's view"
    )
    for r in results:
        view = {k: r[k] for k in ("bots", "host_down_incidents", "usage_rows") if k in r}
        print(
            f"{r['receiver']!s:<10}{r['cpu_pct']:>8.1f}{r['rss_mb']:>9.1f}{r['nats_cpu_pct']:>12.1f}"
            f"{r['events']:>9,}{r['ack_p50_ms']:>8.1f}ms{r['ack_p99_ms']:>8.1f}ms  {view or '-'}"
        )
    if args.json:
        print(json.dumps(results))


def add_parser(modes: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    run = modes.add_parser("edges", help="simulated NATS edges against one hub")
    run.add_argument("--edges", type=int, default=1000)
    run.add_argument("--bots", type=int, default=100, help="bots per edge")
    run.add_argument("--minutes", type=float, default=10.0, help="steady window measured")
    run.add_argument("--procs", type=int, default=4, help="edge processes")
    run.add_argument("--usage-every", type=float, default=10.0, help="seconds, per edge")
    run.add_argument("--metrics-every", type=float, default=15.0, help="seconds, per bot")
    run.add_argument("--receivers", default="floor,hub", help="which to run, in order")
    run.add_argument("--json", action="store_true", help="also print the results as JSON")
    run.set_defaults(func=edges)
