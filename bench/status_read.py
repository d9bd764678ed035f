"""Fleet reads at scale: how long one ``get_status`` holds the event loop, and what that does to
everyone else's round trip.

Starts the controller in this process with N registered bots (default 10,000), then, for the
old read path (a dict per bot, encoded on every call: the baseline) and the current one (each
bot's JSON cached until it changes), runs the same load: one client asks for the full status in
a loop while heartbeats keep changing bots, and another client pings. Prints the time one
status read holds the loop and the pings' p50/p99.

    python bench/status_read.py
    python bench/status_read.py --bots 2000 --seconds 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatops.api.door import SocketDoor
from chatops.api.fleet import agent_to_dict, bot_to_dict
from chatops.composition.controller import Controller
from chatops.config import MonitoringConfig, Settings
from chatops.services.callers import Caller
from chatops.wire.outcomes import Immediate, Later
from chatops.wire.peer import Peer
from chatops.wire.protocol import GetStatus


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: bytes) -> bytes:
    writer.write(line)
    await writer.drain()
    return await reader.readline()


async def run_phase(ctl: Controller, sock: Path, seconds: float, n_bots: int) -> dict[str, Any]:
    assert ctl.services.fleet is not None and ctl.server is not None
    fleet = ctl.services.fleet
    owner = Peer(conn_id=10**9, pid=os.getpid())
    caller = Caller(pid=os.getpid())
    stop = asyncio.Event()
    reads: list[float] = []
    pings: list[float] = []
    stalls: list[float] = []

    async def stall_monitor() -> None:
        """How late a 1 ms timer fires: the longest time anything held the loop."""
        while not stop.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            stalls.append(time.perf_counter() - started - 0.001)

    async def reader_loop() -> None:
        r, w = await asyncio.open_unix_connection(str(sock), limit=1 << 30)
        while not stop.is_set():
            started = time.perf_counter()
            reply = await request(r, w, b'{"id":1,"type":"get_status"}\n')
            reads.append(time.perf_counter() - started)
            assert reply.startswith(b'{"id":1,"ok":true')
        w.close()

    async def ping_loop() -> None:
        r, w = await asyncio.open_unix_connection(str(sock))
        while not stop.is_set():
            started = time.perf_counter()
            await request(r, w, b'{"id":2,"type":"ping"}\n')
            pings.append(time.perf_counter() - started)
            await asyncio.sleep(0.002)
        w.close()

    async def heartbeats() -> None:
        i = 0
        while not stop.is_set():
            for _ in range(50):  # ~1% of 5,000 bots per 10 ms: a fleet heartbeating every 30 s
                fleet.heartbeat(caller, f"bot-{i % n_bots:05d}", rss_mb=i % 500)
                i += 1
            await asyncio.sleep(0.01)

    tasks = [asyncio.create_task(c()) for c in (reader_loop, ping_loop, heartbeats, stall_monitor)]
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks)

    # The loop time of one read, measured directly on the handler and the reply encoding.
    handler = ctl.server.handlers[GetStatus]
    from chatops.wire.protocol import ok_reply

    held = []
    for _ in range(20):
        fleet.heartbeat(caller, "bot-00000", rss_mb=1.0)  # one bot changed
        started = time.perf_counter()
        outcome = handler(owner, GetStatus(id=1))
        if isinstance(outcome, Later):
            outcome = await outcome.answer
        assert isinstance(outcome, Immediate)
        ok_reply(1, outcome.body, outcome.raw)
        held.append(time.perf_counter() - started)
    return {
        "held_ms": statistics.median(held) * 1000,
        "reads": len(reads),
        "ping_p50_ms": percentile(pings, 0.5) * 1000,
        "ping_p99_ms": percentile(pings, 0.99) * 1000,
        "stall_max_ms": max(stalls) * 1000,
    }


async def main(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="co-read-"))
    sock = work / "m.sock"
    settings = Settings(
        monitoring=MonitoringConfig(
            socket_path=sock, database_path=work / "c.db", max_line_bytes=1 << 20
        )
    )
    ctl = Controller(settings, socket_door=SocketDoor)
    await ctl.start()
    try:
        assert ctl.server is not None
        caller = Caller(pid=os.getpid())
        for i in range(args.bots):
            ctl.services.fleet.register(caller, f"bot-{i:05d}", os.getpid(), {"llm": True})
        await ctl.store.flush()  # type: ignore[union-attr]
        current = ctl.server.handlers[GetStatus]
        fleet, agents = ctl.services.fleet, ctl.services.agents

        def baseline(peer: Peer, msg: GetStatus) -> Immediate:
            """The read path before the cache: every bot to a dict, all encoded, every call."""
            return Immediate(
                {
                    "type": "status",
                    "bots": [bot_to_dict(bot) for bot in fleet.snapshot(msg.channel)],
                    "agents": [agent_to_dict(agent) for agent in agents.snapshot()],
                }
            )

        print(f"{args.bots} bots; {args.seconds:g} s per read path", flush=True)
        for label, handler in (("baseline (encode per read)", baseline), ("cached", current)):
            ctl.server.handlers[GetStatus] = handler
            result = await run_phase(ctl, sock, args.seconds, args.bots)
            print(
                f"{label:>27}: one read {result['held_ms']:6.2f} ms on the loop · longest loop "
                f"stall {result['stall_max_ms']:6.1f} ms · {result['reads'] / args.seconds:5.1f} "
                f"full reads/s · ping p50 {result['ping_p50_ms']:5.2f} ms · "
                f"p99 {result['ping_p99_ms']:6.2f} ms",
                flush=True,
            )
    finally:
        await ctl.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bots", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=5)
    asyncio.run(main(parser.parse_args()))
