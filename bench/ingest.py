"""Ingest benchmark: acknowledged-and-committed messages per second, and ack latency.

N clients (default 100) each keep a window of requests in flight over their own Unix-socket
connection, half heartbeats and half llm_usage, every one with an ``id`` so each reply means
"committed". The same load is driven, in the same run, against a naive baseline server shaped
like a simple monitor: read a line, one INSERT, one commit, answer.

    python bench/ingest.py                 # 100 clients, 10 s per server
    python bench/ingest.py --clients 20 --seconds 5 --synchronous normal

Both servers run in their own process; the load generator runs in this one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent


class LoadClient(asyncio.Protocol):
    """Keeps ``window`` requests in flight; parses only the reply's id, to stay cheap."""

    def __init__(self, index: int, window: int, stats: Stats) -> None:
        self.channel = f"bench-{index:03d}".encode()
        self.window = window
        self.stats = stats
        self.transport: asyncio.Transport | None = None
        self.sent_at: dict[int, float] = {}
        self.next_id = 0
        self.buffer = b""
        self.ready = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        pid = os.getpid()
        transport.write(
            b'{"id":-1,"type":"register","channel":"%s","pid":%d,"features":{"llm":true}}\n'
            % (self.channel, pid)
        )

    def start(self) -> None:
        self.send(self.window)

    def send(self, count: int) -> None:
        if self.stats.stopping or self.transport is None:
            return
        now = time.perf_counter()
        lines = []
        for _ in range(count):
            n = self.next_id
            self.next_id += 1
            self.sent_at[n] = now
            if n & 1:
                lines.append(
                    b'{"id":%d,"type":"heartbeat","channel":"%s","rss_mb":123.4,'
                    b'"cpu_pct":1.5}\n' % (n, self.channel)
                )
            else:
                lines.append(
                    b'{"id":%d,"type":"llm_usage","channel":"%s","model":"deepseek-chat",'
                    b'"feature":"bench","tokens_in":150,"tokens_out":80,'
                    b'"latency_ms":1200,"estimated_cost":0.0003}\n' % (n, self.channel)
                )
        self.transport.write(b"".join(lines))

    def data_received(self, data: bytes) -> None:
        data = self.buffer + data
        *lines, self.buffer = data.split(b"\n")
        now = time.perf_counter()
        acked = 0
        for line in lines:
            # b'{"id":123,"ok":true}'
            rid = int(line[6 : line.index(b",", 6)])
            ok = b'"ok":true' in line
            if rid == -1:
                if not self.ready.done():
                    self.ready.set_result(ok)
                continue
            sent = self.sent_at.pop(rid, None)
            if sent is None:
                continue
            if not ok:
                self.stats.errors += 1
            elif self.stats.measuring:
                self.stats.acked += 1
                self.stats.latencies.append(now - sent)
            acked += 1
        if acked:
            self.send(acked)


class Stats:
    def __init__(self) -> None:
        self.acked = 0
        self.errors = 0
        self.latencies: list[float] = []
        self.measuring = False
        self.stopping = False


def start_server(
    kind: str, workdir: Path, synchronous: str
) -> tuple[subprocess.Popen[bytes], Path]:
    sock = workdir / f"{kind}.sock"
    db = workdir / f"{kind}.db"
    if kind == "chatops":
        config = workdir / "chatops.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "monitoring": {
                        "socket_path": str(sock),
                        "database_path": str(db),
                        "db_synchronous": synchronous,
                    },
                    "logging": {"level": "WARNING"},
                }
            )
        )
        cmd = [sys.executable, "-m", "chatops.cli", "--config", str(config), "run"]
    else:
        cmd = [sys.executable, str(HERE / "naive_server.py"), str(sock), str(db), synchronous]
    proc = subprocess.Popen(cmd)
    deadline = time.monotonic() + 30
    while not sock.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{kind} server did not start")
        time.sleep(0.05)
    return proc, sock


async def drive(sock: Path, clients: int, window: int, seconds: float, warmup: float) -> Stats:
    stats = Stats()
    loop = asyncio.get_running_loop()
    protos: list[LoadClient] = []
    for i in range(clients):
        _, proto = await loop.create_unix_connection(
            lambda i=i: LoadClient(i, window, stats), str(sock)
        )
        protos.append(proto)
    registered = await asyncio.wait_for(asyncio.gather(*(p.ready for p in protos)), 60)
    assert all(registered), "registration refused"
    for proto in protos:
        proto.start()
    await asyncio.sleep(warmup)
    stats.measuring = True
    started = time.perf_counter()
    await asyncio.sleep(seconds)
    stats.measuring = False
    elapsed = time.perf_counter() - started
    stats.stopping = True
    for proto in protos:
        if proto.transport is not None:
            proto.transport.close()
    stats.rate = stats.acked / elapsed  # type: ignore[attr-defined]
    return stats


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def run_one(kind: str, args: argparse.Namespace, workdir: Path) -> tuple[float, float, float]:
    proc, sock = start_server(kind, workdir, args.synchronous)
    try:
        stats = asyncio.run(drive(sock, args.clients, args.window, args.seconds, args.warmup))
    finally:
        proc.terminate()
        proc.wait(30)
    p50 = percentile(stats.latencies, 0.50) * 1000
    p99 = percentile(stats.latencies, 0.99) * 1000
    rate: float = stats.rate  # type: ignore[attr-defined]
    print(
        f"{kind:>8}: {rate:>10,.0f} msg/s acknowledged+committed   "
        f"ack latency p50 {p50:7.2f} ms  p99 {p99:7.2f} ms   errors {stats.errors}",
        flush=True,
    )
    return rate, p50, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--window", type=int, default=64, help="requests in flight per client")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--synchronous", choices=["normal", "full"], default="full")
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()
    print(
        f"clients={args.clients} window={args.window} seconds={args.seconds} "
        f"synchronous={args.synchronous} cpus={os.cpu_count()}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="co-bench-") as tmp:
        workdir = Path(tmp)
        rate, _, _ = run_one("chatops", args, workdir)
        if not args.skip_baseline:
            naive_rate, _, _ = run_one("naive", args, workdir)
            print(f"speed-up over the naive baseline: {rate / naive_rate:.1f}x")


if __name__ == "__main__":
    main()
