"""Abuse run: what a hostile local client can make a real controller do, and what it costs.

Starts ``chatops run`` as a subprocess, then runs each abuse case for a few seconds while a
well-behaved client (its own process) heartbeats with an ``id`` and times every round trip.
For each case it prints what the controller did, its RSS, the growth of its database and of its
log, and the well-behaved client's p50/p99 round trip, beside the same client with no abuse.

    python bench/abuse.py
    python bench/abuse.py --seconds 3 --connections 5000

Cases: forged ownership (another process unregisters, heartbeats for and re-registers a live
bot), malformed lines (invalid UTF-8 in strings, 10,000-level nesting, control characters), a
heartbeat flood with large features, a garbage flood over reconnecting connections, half-open
connections that never finish a line, and 10,000 connections at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOT = ROOT / "tests" / "bots" / "simple_bot.py"

# The well-behaved client: register, then heartbeat with an id as fast as replies come, one at
# a time, for the given seconds; print the round trips' p50/p99 in ms as JSON.
GOOD_CLIENT = r"""
import json, os, socket, sys, time
path, seconds = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_UNIX); s.connect(path); f = s.makefile("rwb")
def ask(m):
    f.write(json.dumps(m).encode() + b"\n"); f.flush(); return json.loads(f.readline())
assert ask({"id": 0, "type": "register", "channel": "good", "pid": os.getpid()})["ok"]
rtts, end, n = [], time.monotonic() + seconds, 0
while time.monotonic() < end:
    n += 1; t = time.perf_counter()
    reply = ask({"id": n, "type": "heartbeat", "channel": "good", "rss_mb": 1.0})
    rtts.append(time.perf_counter() - t); assert reply["ok"], reply
    time.sleep(0.005)
rtts.sort()
print(json.dumps({"p50": rtts[len(rtts) // 2] * 1000, "p99": rtts[int(len(rtts) * 0.99)] * 1000,
                  "n": len(rtts)}))
"""

NASTY = [
    b'{"id":1,"type":"heartbeat","channel":"a\xff\xfe","pid":1}',
    b"[" * 10_000 + b"]" * 10_000,
    b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    b'{"id":3,"type":"register","channel":"evil\\u001b[2J","pid":1}',
    b"\x00\x01\x02 not json",
]


class Controller:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.sock = work / "m.sock"
        self.db = work / "c.db"
        self.log = work / "controller.log"
        config = work / "config.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "monitoring": {
                        "socket_path": str(self.sock),
                        "database_path": str(self.db),
                        "handshake_timeout": 2,
                    },
                    "logging": {"level": "INFO"},
                }
            )
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS_")}
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "chatops.cli", "--config", str(config), "run"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        self.ps = psutil.Process(self.proc.pid)

    def rss_mb(self) -> float:
        return float(self.ps.memory_info().rss) / 1_048_576

    def db_bytes(self) -> int:
        return sum(p.stat().st_size for p in (self.db, self.db.with_name("c.db-wal")) if p.exists())

    def log_bytes(self) -> int:
        return self.log.stat().st_size


async def request(path: Path, message: dict[str, Any]) -> dict[str, Any]:
    reader, writer = await asyncio.open_unix_connection(str(path), limit=1 << 26)
    writer.write(json.dumps(message).encode() + b"\n")
    await writer.drain()
    reply: dict[str, Any] = json.loads(await reader.readline())
    writer.close()
    return reply


async def send_lines(path: Path, lines: list[bytes], codes: Counter[str]) -> None:
    """Send lines, reconnecting whenever the controller cuts the connection off."""
    pending = list(lines)
    while pending:
        reader, writer = await asyncio.open_unix_connection(str(path), limit=1 << 26)
        try:
            while pending:
                writer.write(pending[0] + b"\n")
                await writer.drain()
                line = await reader.readline()
                if not line:
                    break
                pending.pop(0)
                reply = json.loads(line)
                codes[reply["error"]["code"] if not reply.get("ok") else "ok"] += 1
                if reply.get("error", {}).get("code") == "too_many_errors":
                    break
        except (ConnectionError, json.JSONDecodeError):
            pass
        finally:
            writer.close()


async def case_forged(ctl: Controller, seconds: float) -> str:
    victim = subprocess.Popen(
        [sys.executable, str(BOT), str(ctl.sock), "victim", "1"], stdout=subprocess.PIPE
    )
    assert (await asyncio.to_thread(victim.stdout.readline)).strip() == b"READY"  # type: ignore[union-attr]
    codes: Counter[str] = Counter()
    forged = [
        {"id": 1, "type": "unregister", "channel": "victim"},
        {"id": 2, "type": "heartbeat", "channel": "victim", "rss_mb": 1},
        {"id": 3, "type": "register", "channel": "victim", "pid": os.getpid()},
        {"id": 4, "type": "llm_usage", "channel": "victim", "model": "m", "tokens_in": 1},
    ]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        await send_lines(ctl.sock, [json.dumps(m).encode() for m in forged * 25], codes)
    status = await request(ctl.sock, {"id": 1, "type": "get_status", "channel": "victim"})
    victim.kill()
    victim.wait()
    return f"{dict(codes)}; victim still {status['bots'][0]['status']} with its own pid"


async def case_malformed(ctl: Controller, seconds: float) -> str:
    codes: Counter[str] = Counter()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        await send_lines(ctl.sock, NASTY * 20, codes)
    status = await request(ctl.sock, {"id": 1, "type": "get_status", "channel": "good"})
    return f"{dict(codes)}; the good bot is {status['bots'][0]['status']}"


async def case_heartbeat_flood(ctl: Controller, seconds: float) -> str:
    reader, writer = await asyncio.open_unix_connection(str(ctl.sock))
    features = {f"k{i}": "x" * 50 for i in range(60)}  # 3.7 kB, just under the cap
    register = {
        "id": 0,
        "type": "register",
        "channel": "flood",
        "pid": os.getpid(),
        "features": features,
    }
    writer.write(json.dumps(register).encode() + b"\n")
    assert json.loads(await reader.readline())["ok"]
    sent = 0
    end = time.monotonic() + seconds
    chunk = b"".join(
        b'{"type":"heartbeat","channel":"flood","rss_mb":%d}\n' % i for i in range(1000)
    )
    while time.monotonic() < end:
        writer.write(chunk)
        await writer.drain()
        sent += 1000
    writer.write(b'{"id":"last","type":"ping"}\n')
    await writer.drain()
    while b'"last"' not in await reader.readline():
        pass
    writer.close()
    rows = await asyncio.to_thread(
        _count, ctl.db, "SELECT COUNT(*) FROM bot_metrics WHERE channel='flood'"
    )
    return f"{sent:,} heartbeats with 3.7 kB features -> {rows} metrics row(s)"


async def case_garbage_flood(ctl: Controller, seconds: float) -> str:
    closed = 0
    sent = 0
    end = time.monotonic() + seconds

    async def flooder() -> None:
        nonlocal closed, sent
        while time.monotonic() < end:
            reader, writer = await asyncio.open_unix_connection(str(ctl.sock))
            try:
                writer.write(b"garbage\n" * 200)
                sent += 200
                await writer.drain()
                while await reader.readline():
                    pass
                closed += 1
            except ConnectionError:
                closed += 1
            finally:
                writer.close()

    await asyncio.gather(*(flooder() for _ in range(10)))
    return f"{sent:,} garbage lines sent; {closed:,} connections cut off after their budget"


async def case_half_open(ctl: Controller, seconds: float) -> str:
    conns = []
    for _ in range(1000):
        reader, writer = await asyncio.open_unix_connection(str(ctl.sock))
        writer.write(b'{"type": "pi')
        conns.append((reader, writer))
    await asyncio.sleep(max(seconds, 3.0))  # handshake_timeout is 2 s in this run
    closed = 0
    for reader, writer in conns:
        try:
            data = await asyncio.wait_for(reader.read(), 1)
            closed += b"handshake_timeout" in data
        except (TimeoutError, OSError):  # ENOTCONN too: the server closed it first
            pass
        writer.close()
    return f"1,000 connections that never finish a line: {closed:,} closed with handshake_timeout"


async def case_many_connections(ctl: Controller, seconds: float, count: int) -> str:
    """Each connection asks at once (no handshake timeout can intervene); the first line it
    gets is its answer, or the refusal the server wrote when it accepted it. A refused client
    whose ping was still unread when the server closed may see a reset instead of the line."""
    conns = []
    failed_connect = 0
    for _ in range(count):
        try:
            reader, writer = await asyncio.open_unix_connection(str(ctl.sock))
        except OSError:
            failed_connect += 1
            continue
        writer.write(b'{"id":1,"type":"ping"}\n')
        conns.append((reader, writer))

    async def first_line(reader: asyncio.StreamReader) -> bytes:
        try:
            return await asyncio.wait_for(reader.readline(), 20)
        except (TimeoutError, OSError):
            return b""

    answers = await asyncio.gather(*(first_line(r) for r, _ in conns))
    served = sum(b"pong" in line for line in answers)
    told = sum(b"too_many_connections" in line for line in answers)
    await asyncio.sleep(seconds)
    for _, writer in conns:
        writer.close()
    return (
        f"{count:,} connections: {served:,} served, {len(conns) - served:,} refused and closed "
        f"({told:,} read the too_many_connections line first), {failed_connect} failed to connect"
    )


def _count(db: Path, sql: str) -> int:
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


async def good_client(ctl: Controller, seconds: float) -> dict[str, float]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", GOOD_CLIENT, str(ctl.sock), str(seconds), stdout=subprocess.PIPE
    )
    out, _ = await proc.communicate()
    result: dict[str, float] = json.loads(out)
    return result


async def measure(
    ctl: Controller, name: str, seconds: float, abuse: Callable[[], Awaitable[str]] | None
) -> None:
    db_before, log_before = ctl.db_bytes(), ctl.log_bytes()
    # The good client outlives the abuse, so the cases can check it is still online.
    good = asyncio.create_task(good_client(ctl, seconds + 2))
    await asyncio.sleep(0.2)
    what = await abuse() if abuse is not None else "nothing"
    rtt = await good
    await asyncio.sleep(0.5)
    db_kb = (ctl.db_bytes() - db_before) / 1024
    print(
        f"{name:<22} RSS {ctl.rss_mb():6.1f} MB · db +{db_kb:8.1f} kB · "
        f"log +{(ctl.log_bytes() - log_before) / 1024:7.1f} kB · good client p50 "
        f"{rtt['p50']:6.2f} ms p99 {rtt['p99']:7.2f} ms\n{'':<22} {what}",
        flush=True,
    )


async def main(args: argparse.Namespace) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.connections + 512)), hard))
    work = Path(tempfile.mkdtemp(prefix="co-abuse-"))
    ctl = Controller(work)
    try:
        deadline = time.monotonic() + 30
        while not ctl.sock.exists():
            if time.monotonic() > deadline or ctl.proc.poll() is not None:
                raise SystemExit(ctl.log.read_text())
            await asyncio.sleep(0.05)
        s = args.seconds
        await measure(ctl, "no abuse (baseline)", s, None)
        await measure(ctl, "forged ownership", s, lambda: case_forged(ctl, s))
        await measure(ctl, "malformed lines", s, lambda: case_malformed(ctl, s))
        await measure(ctl, "heartbeat flood", s, lambda: case_heartbeat_flood(ctl, s))
        await measure(ctl, "garbage flood", s, lambda: case_garbage_flood(ctl, s))
        await measure(ctl, "half-open connections", s, lambda: case_half_open(ctl, s))
        await measure(
            ctl,
            f"{args.connections:,} connections",
            s,
            lambda: case_many_connections(ctl, s, args.connections),
        )
    finally:
        ctl.proc.terminate()
        ctl.proc.wait(30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=10_000)
    asyncio.run(main(parser.parse_args()))
