"""Fleet scale: what one controller costs per connected bot, against a bare echo server's floor.

``local``: N bots (default 10,000) on the controller's Unix socket, each heartbeating once a
second with an ``id`` (so its reply is the ack, sent once the heartbeat is committed), from a few
load-generator processes so the generator is not the bottleneck. In the same run the same load
goes to a bare asyncio echo server (a line in, the same line out, newline framing, on the same
event loop as the controller) as the floor. For each server it measures, over the steady window
after a warm-up: the server process's CPU (all its threads, from ``/proc``), its RSS, and the ack
latency p50/p99; it prints a table and the controller's CPU as a multiple of the floors'.

Each server runs on the loop its name says: ``floor-asyncio`` (the target's floor: a bare asyncio
echo server on asyncio's own loop), ``floor-uvloop`` (the same echo server on uvloop),
``floor-parse-uvloop`` (the least a controller could do with a line: decode it with msgspec,
keep the latest per bot, answer an ack; on uvloop), ``controller-uvloop`` (the controller as it
runs by default), ``controller-asyncio`` (``monitoring.uvloop: false``) and ``previous-uvloop``
(the controller of ``--previous``, a checkout of the previous release). The target compares the
controller, on uvloop where it is available, with the bare asyncio echo server; the same-loop
ratios say how much of the controller's cost is its own work rather than the loop's.

With ``--rounds N`` every server runs N times, one of each per round (the order turning from
one round to the next), and each ratio is printed
per round and as the median: on a shared machine the floors drift from one minute to the next,
so only servers measured side by side are compared.

    python bench/fleet_scale.py local                        # 10,000 bots, 20 s steady window
    python bench/fleet_scale.py local --rounds 3             # the README's figures
    python bench/fleet_scale.py local --bots 2000 --seconds 10
    python bench/fleet_scale.py local --servers previous-uvloop,controller-uvloop \
        --previous /tmp/wt-old --rounds 3                     # against the previous release

Bots register first (``register`` messages, acked), then heartbeats are spread evenly over each
second: bot ``i`` of ``N`` sends at ``i/N`` past every second. The generators and the servers
share this machine's cores, as they would on a real controller host.

``edges``: simulated NATS edges (1,000 x 100 bots by default) against one hub for minutes, with a
bare NATS consumer as the floor; see ``bench/fleet_edges.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import fleet_edges  # beside this script

CLK_TCK = os.sysconf("SC_CLK_TCK")

# The floors: a bare echo server on the same loop the controller runs on; with "parse", the
# least a controller can do with a line (decode it with msgspec, keep the latest per bot, answer
# an ack) on the same framing.
ECHO_SERVER = r"""
import asyncio, os, socket, sys
from typing import Annotated
import msgspec
path, use_uvloop, parse = sys.argv[1], sys.argv[2] == "uvloop", sys.argv[3] == "parse"

class Heartbeat(msgspec.Struct, tag="heartbeat", tag_field="type", kw_only=True):
    id: int | None = None
    channel: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    rss_mb: float | None = None
    cpu_pct: float | None = None

class Register(msgspec.Struct, tag="register", tag_field="type", kw_only=True):
    id: int | None = None
    channel: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    pid: int

decoder = msgspec.json.Decoder(Heartbeat | Register)
latest = {}

class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.t = transport
        self.buf = b""
    def data_received(self, data):
        data = self.buf + data
        end = data.rfind(b"\n") + 1
        self.buf = data[end:]
        if not end:
            return
        if not parse:
            self.t.write(data[:end])
            return
        for line in data[:end - 1].split(b"\n"):
            message = decoder.decode(line)
            latest[message.channel] = message
            self.t.write(b'{"id":%d,"ok":true}\n' % message.id)

async def main():
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path); sock.listen(512); sock.setblocking(False)
    server = await asyncio.get_running_loop().create_unix_server(Echo, sock=sock)
    print("LISTENING", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    server.close()

if use_uvloop:
    import uvloop
    uvloop.run(main())
else:
    asyncio.run(main())
"""

# One load-generator process: bots [first, last) of total, each its own connection.
GENERATOR = r"""
import asyncio, json, os, resource, sys, time
path, first, last, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
warmup, seconds = float(sys.argv[5]), float(sys.argv[6])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
pid = os.getpid()

class Bot(asyncio.Protocol):
    def __init__(self, gen):
        self.gen, self.buf, self.sent = gen, b"", {}
    def connection_made(self, transport):
        self.t = transport
    def data_received(self, data):
        now = time.perf_counter()
        data = self.buf + data
        lines = data.split(b"\n")
        self.buf = lines.pop()
        for line in lines:
            reply = json.loads(line)
            at = self.sent.pop(reply.get("id"), None)
            if at is None:
                continue
            if reply.get("ok") is False:
                code = reply["error"]["code"]
                self.gen.errors[code] = self.gen.errors.get(code, 0) + 1
            if at[1]:
                self.gen.latencies.append(now - at[0])
            if self.gen.waiting is not None:
                self.gen.acked += 1
                if self.gen.acked == self.gen.expect and not self.gen.waiting.done():
                    self.gen.waiting.set_result(None)
    def connection_lost(self, exc):
        self.gen.lost += 1

class Gen:
    def __init__(self):
        self.latencies, self.errors, self.lost = [], {}, 0
        self.waiting, self.acked, self.expect = None, 0, 0

async def connect(loop, gen, bots, index):
    for attempt in range(200):
        try:
            _, bot = await loop.create_unix_connection(lambda: Bot(gen), path)
            bots[index] = bot
            return
        except (ConnectionRefusedError, BlockingIOError, OSError):
            await asyncio.sleep(0.05)
    raise SystemExit(f"bot {index}: could not connect")

async def main():
    loop = asyncio.get_running_loop()
    gen = Gen()
    count = last - first
    bots = [None] * count
    for start in range(0, count, 100):
        batch = range(start, min(count, start + 100))
        await asyncio.gather(*(connect(loop, gen, bots, i) for i in batch))
    gen.waiting, gen.expect = loop.create_future(), count
    for i, bot in enumerate(bots):
        bot.sent[0] = (time.perf_counter(), False)
        line = {"id": 0, "type": "register", "channel": f"b{first + i}", "pid": pid}
        bot.t.write(json.dumps(line).encode() + b"\n")
        if i % 200 == 199:
            await asyncio.sleep(0.01)
    await gen.waiting
    gen.waiting = None
    print("READY", flush=True)
    t0 = float(await loop.run_in_executor(None, sys.stdin.readline))
    line = b'{"id":%%d,"type":"heartbeat","channel":"b%d","rss_mb":48.5,"cpu_pct":1.5}\n'
    lines = [line % (first + i) for i in range(count)]
    offsets = [(first + i) / total for i in range(count)]
    window = (t0 + warmup, t0 + warmup + seconds)
    seq, i, second = 0, 0, 0
    sent = 0
    while True:
        due = t0 + second + offsets[i]
        if due >= window[1]:
            break
        now = time.time()
        if due > now:
            await asyncio.sleep(due - now)
        now = time.time()
        # Send every bot whose slot has come (a tick of the loop covers a few).
        while True:
            seq += 1
            bot = bots[i]
            bot.sent[seq] = (time.perf_counter(), window[0] <= t0 + second + offsets[i])
            bot.t.write(lines[i] % seq)
            sent += 1
            i += 1
            if i == count:
                i, second = 0, second + 1
            if t0 + second + offsets[i] > now:
                break
    await asyncio.sleep(3)  # the last acks
    missing = sum(1 for bot in bots for s in bot.sent.values() if s[1])
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"latencies": gen.latencies, "errors": gen.errors, "lost": gen.lost,
                      "missing": missing, "sent": sent,
                      "cpu_s": usage.ru_utime + usage.ru_stime}), flush=True)

try:
    import uvloop
    uvloop.run(main())
except ImportError:
    asyncio.run(main())
"""


def _raise_nofile() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid``, all its threads (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def thread_cpu_seconds(pid: int) -> dict[str, float]:
    """CPU of ``pid``'s main thread (the event loop) and of its other threads together (the
    store writer's, workers')."""
    out: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            text = (task / "stat").read_text()
        except OSError:
            continue
        name = "loop" if task.name == str(pid) else "other threads"
        fields = text.rsplit(")", 1)[1].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


@dataclass
class Result:
    server: str
    cpu_pct: float
    rss_mb: float
    p50_ms: float
    p99_ms: float
    acked: int
    missing: int
    errors: dict[str, int]
    generator_cpu_pct: float
    threads: dict[str, float]


def start_controller(
    work: Path, args: argparse.Namespace, loop: str, root: str, tag: str
) -> tuple[subprocess.Popen[bytes], Path]:
    sock = work / f"c-{tag}.sock"
    config = work / f"config-{tag}.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "monitoring": {
                    "socket_path": str(sock),
                    "database_path": str(work / f"c-{tag}.db"),
                    "max_connections": args.bots + 1000,
                    "max_connections_per_uid": args.bots + 1000,
                    "heartbeat_interval": 1,
                    "handshake_timeout": 30,
                    "uvloop": loop == "uvloop",
                },
                "logging": {"level": "WARNING"},
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS_")}
    root = Path(root).resolve()
    env["PYTHONPATH"] = str(root)
    log = (work / f"{tag}.log").open("wb")
    profile = ["-m", "cProfile", "-o", args.profile] if args.profile else []
    proc = subprocess.Popen(
        [sys.executable, *profile, "-m", "chatops.cli", "--config", str(config), "run"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=root,
        preexec_fn=_raise_nofile,
    )
    return proc, sock


def start_floor(work: Path, loop: str, mode: str) -> tuple[subprocess.Popen[bytes], Path]:
    sock = work / f"{mode}-{loop}.sock"
    proc = subprocess.Popen(
        [sys.executable, "-c", ECHO_SERVER, str(sock), loop, mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        preexec_fn=_raise_nofile,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"LISTENING"
    return proc, sock


def wait_for_socket(sock: Path, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not sock.exists():
        if proc.poll() is not None or time.monotonic() > end:
            raise SystemExit(f"server did not open {sock}")
        time.sleep(0.05)


def drive(name: str, proc: subprocess.Popen[bytes], sock: Path, args: argparse.Namespace) -> Result:
    """Connect and register every bot, heartbeat them, and measure ``proc`` meanwhile."""
    wait_for_socket(sock, proc)
    per = -(-args.bots // args.procs)
    gens = []
    for first in range(0, args.bots, per):
        last = min(args.bots, first + per)
        gens.append(
            subprocess.Popen(
                [
                    *(sys.executable, "-c", GENERATOR, str(sock), str(first), str(last)),
                    *(str(args.bots), str(args.warmup), str(args.seconds)),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                preexec_fn=_raise_nofile,
            )
        )
    started = time.monotonic()
    for gen in gens:
        assert gen.stdout is not None
        line = gen.stdout.readline().strip()
        if line != b"READY":
            raise SystemExit(f"{name}: a generator failed ({line!r})")
    print(
        f"  {name}: {args.bots} bots connected and registered in {time.monotonic() - started:.1f} s"
    )
    t0 = time.time() + 1.0
    for gen in gens:
        assert gen.stdin is not None
        gen.stdin.write(f"{t0}\n".encode())
        gen.stdin.flush()
    ps = psutil.Process(proc.pid)
    time.sleep(max(0.0, t0 + args.warmup - time.time()))
    cpu0, wall0 = proc_cpu_seconds(proc.pid), time.monotonic()
    threads0 = thread_cpu_seconds(proc.pid)
    gcpu0 = sum(proc_cpu_seconds(g.pid) for g in gens)
    rss = 0.0
    while time.time() < t0 + args.warmup + args.seconds:
        rss = max(rss, ps.memory_info().rss / 1_048_576)
        time.sleep(0.5)
    cpu1, wall1 = proc_cpu_seconds(proc.pid), time.monotonic()
    threads1 = thread_cpu_seconds(proc.pid)
    gcpu1 = sum(proc_cpu_seconds(g.pid) for g in gens)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    missing = 0
    for gen in gens:
        out, _ = gen.communicate()
        report: dict[str, Any] = json.loads(out.splitlines()[-1])
        latencies.extend(report["latencies"])
        missing += report["missing"] + report["lost"]
        for code, count in report["errors"].items():
            errors[code] = errors.get(code, 0) + count
    latencies.sort()
    span = wall1 - wall0

    def pct(q: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000 if latencies else 0.0
        )

    return Result(
        server=name,
        cpu_pct=100 * (cpu1 - cpu0) / span,
        rss_mb=rss,
        p50_ms=pct(0.50),
        p99_ms=pct(0.99),
        acked=len(latencies),
        missing=missing,
        errors=errors,
        generator_cpu_pct=100 * (gcpu1 - gcpu0) / span,
        threads={
            name: round(100 * (spent - threads0.get(name, 0.0)) / span, 1)
            for name, spent in threads1.items()
            if spent - threads0.get(name, 0.0) > 0
        },
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.stdin is not None:
        proc.stdin.close()
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass(frozen=True)
class Server:
    kind: str  # "floor" or "controller"
    loop: str  # "asyncio" or "uvloop"
    mode: str = "echo"  # a floor's: "echo" or "parse"
    previous: bool = False  # a controller of --previous


SERVERS = {
    "floor-asyncio": Server("floor", "asyncio"),
    "floor-uvloop": Server("floor", "uvloop"),
    "floor-parse-uvloop": Server("floor", "uvloop", "parse"),
    "controller-uvloop": Server("controller", "uvloop"),
    "controller-asyncio": Server("controller", "asyncio"),
    "previous-uvloop": Server("controller", "uvloop", previous=True),
}
DEFAULT_SERVERS = "floor-asyncio,floor-uvloop,floor-parse-uvloop,controller-uvloop"
RATIOS = (
    ("controller-uvloop", "floor-asyncio", "the target: within 1.5x"),
    ("controller-uvloop", "floor-uvloop", "same loop"),
    ("controller-uvloop", "floor-parse-uvloop", "same loop, a line decoded and answered"),
    ("controller-asyncio", "floor-asyncio", "same loop"),
    ("controller-uvloop", "previous-uvloop", "this release against --previous"),
)


def start(name: str, work: Path, args: argparse.Namespace) -> tuple[subprocess.Popen[bytes], Path]:
    server = SERVERS[name]
    if server.kind == "floor":
        return start_floor(work, server.loop, server.mode)
    root = args.previous if server.previous else args.root
    return start_controller(work, args, server.loop, root, tag=name)


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def local(args: argparse.Namespace) -> None:
    names = args.servers.split(",")
    unknown = sorted(set(names) - set(SERVERS))
    if unknown:
        raise SystemExit(f"unknown servers {unknown}; choose among {', '.join(SERVERS)}")
    if "previous-uvloop" in names and not args.previous:
        raise SystemExit("previous-uvloop needs --previous, the checkout of the previous release")
    rounds: list[dict[str, Result]] = []
    with tempfile.TemporaryDirectory(prefix="fleet-scale-") as tmp:
        work = Path(tmp)
        for number in range(args.rounds):
            results: dict[str, Result] = {}
            # One of each per round, machine drift hitting them alike; the order turns each
            # round so that none always runs first.
            turn = number % len(names)
            for name in names[turn:] + names[:turn]:
                print(f"round {number + 1}/{args.rounds}, {name}: starting")
                here = work / f"round-{number + 1}"  # a fresh database for each
                here.mkdir(exist_ok=True)
                proc, sock = start(name, here, args)
                try:
                    results[name] = drive(name, proc, sock, args)
                finally:
                    stop(proc)
            rounds.append(results)
    print(
        f"\n{args.bots:,} bots at 1 Hz, {args.seconds:g} s steady after {args.warmup:g} s, "
        f"{args.procs} generator processes, {args.rounds} round(s)"
    )
    print(
        f"{'server':<20}{'CPU %':>8}{'RSS MB':>9}{'ack p50':>10}{'ack p99':>10}"
        f"{'acks':>9}{'missing':>9}{'gen CPU %':>11}  errors"
    )
    for results in rounds:
        for r in (results[name] for name in names):
            print(
                f"{r.server:<20}{r.cpu_pct:>8.1f}{r.rss_mb:>9.1f}{r.p50_ms:>8.1f}ms"
                f"{r.p99_ms:>8.1f}ms{r.acked:>9,}{r.missing:>9,}{r.generator_cpu_pct:>11.1f}  "
                f"{r.errors or '-'}"
            )
    for name in names:
        by_thread = [results[name].threads for results in rounds]
        print(f"{name} CPU % by thread: {' / '.join(map(str, by_thread))}")
    for controller, floor, why in RATIOS:
        ratios = [
            results[controller].cpu_pct / results[floor].cpu_pct
            for results in rounds
            if controller in results and floor in results and results[floor].cpu_pct > 0
        ]
        if ratios:
            each = " / ".join(f"{ratio:.2f}" for ratio in ratios)
            print(f"CPU ratio {controller}/{floor}: median {median(ratios):.2f}x ({each}; {why})")
    if args.json:
        print(json.dumps([[r.__dict__ for r in results.values()] for results in rounds]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    run = modes.add_parser("local", help="N local bots on one controller's Unix socket")
    run.add_argument("--bots", type=int, default=10_000)
    run.add_argument("--procs", type=int, default=4, help="load-generator processes")
    run.add_argument("--warmup", type=float, default=5.0)
    run.add_argument("--seconds", type=float, default=20.0, help="steady window measured")
    run.add_argument(
        "--servers",
        default=DEFAULT_SERVERS,
        help=f"which to run, in order, each round (default {DEFAULT_SERVERS}; also "
        "controller-asyncio, and previous-uvloop with --previous)",
    )
    run.add_argument("--rounds", type=int, default=1, help="run every server this many times")
    run.add_argument("--root", default=str(ROOT), help="the chatops checkout to run")
    run.add_argument("--previous", help="a checkout of the previous release, for previous-uvloop")
    run.add_argument("--profile", help="run the controller under cProfile, stats to this file")
    run.add_argument("--json", action="store_true", help="also print the results as JSON")
    run.set_defaults(func=local)
    fleet_edges.add_parser(modes)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
