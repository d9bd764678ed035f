"""``/metrics`` with a large fleet: how long a scrape takes and the longest it holds the loop.

Starts the controller in this process with N registered bots (default 10,000; each with RSS
and CPU), usage for a few models, then scrapes ``/metrics`` repeatedly from a thread (as
Prometheus would from outside, so the client's own work never runs on the controller's loop;
plain, then gzipped as Prometheus asks for it)
while a 1 ms timer measures how late the loop runs. The floor, in the same run: a bare aiohttp
server in the same loop answering the same bytes (no gathering, no rendering).

    python bench/metrics_scrape.py
    python bench/metrics_scrape.py --bots 2000 --scrapes 5
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
import urllib.request
from pathlib import Path

from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatops.api.door import SocketDoor
from chatops.composition.controller import Controller
from chatops.config import MonitoringConfig, Settings
from chatops.config.http import HttpConfig
from chatops.services.callers import Caller
from chatops.web.door import HttpDoor


def fetch(url: str, gzip: bool = False) -> tuple[float, int]:
    started = time.perf_counter()
    headers = {"Accept-Encoding": "gzip"} if gzip else {}
    with urllib.request.urlopen(
        urllib.request.Request(url, headers=headers), timeout=60
    ) as response:
        size = len(response.read())
    return time.perf_counter() - started, size


async def measure(url: str, scrapes: int, gzip: bool = False) -> dict[str, float]:
    """Scrape ``url`` ``scrapes`` times from a thread; the loop's longest stall meanwhile."""
    stop = asyncio.Event()
    stalls: list[float] = []

    async def stall_monitor() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            stalls.append(time.perf_counter() - started - 0.001)

    monitor = asyncio.create_task(stall_monitor())
    times, size = [], 0
    for _ in range(scrapes):
        took, size = await asyncio.to_thread(fetch, url, gzip)
        times.append(took)
    stop.set()
    await monitor
    return {
        "p50_ms": statistics.median(times) * 1000,
        "max_ms": max(times) * 1000,
        "stall_max_ms": max(stalls) * 1000,
        "bytes": size,
    }


async def floor(body: bytes, scrapes: int) -> dict[str, float]:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="text/plain")

    app = web.Application()
    app.router.add_get("/metrics", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        return await measure(f"http://{host}:{port}/metrics", scrapes)
    finally:
        await runner.cleanup()


async def main(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="co-metrics-"))
    settings = Settings(
        monitoring=MonitoringConfig(socket_path=work / "m.sock", database_path=work / "c.db"),
        http=HttpConfig(listen="127.0.0.1:0"),
    )
    ctl = Controller(settings, socket_door=SocketDoor, http_door=HttpDoor)
    await ctl.start()
    try:
        owner = Caller(pid=os.getpid())
        fleet = ctl.services.fleet
        for i in range(args.bots):
            name = f"bot-{i:05d}"
            fleet.register(owner, name, os.getpid(), {"llm": True})
            fleet.heartbeat(owner, name, rss_mb=50.0 + i % 100, cpu_pct=float(i % 40))
        for i, model in enumerate(("gpt-4o", "claude-sonnet-4-5", "deepseek-chat")):
            for j in range(20):
                ctl.services.usage.log_usage(
                    owner,
                    f"bot-{j:05d}",
                    model,
                    tokens_in=100 * (i + 1),
                    tokens_out=50,
                    latency_ms=800,
                )
        await ctl.store.flush()
        host, port = ctl.http_addresses[0]
        url = f"http://{host}:{port}/metrics"
        body = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=60).read())
        print(
            f"{args.bots} bots, {len(body) / 1e6:.1f} MB per scrape, {args.scrapes} scrapes each",
            flush=True,
        )
        for label, result in (
            ("floor (bare aiohttp, same bytes)", await floor(body, args.scrapes)),
            ("chatops /metrics", await measure(url, args.scrapes)),
            ("chatops /metrics, gzip", await measure(url, args.scrapes, gzip=True)),
        ):
            print(
                f"{label:>33}: scrape p50 {result['p50_ms']:6.0f} ms"
                f" · max {result['max_ms']:6.0f} ms"
                f" · longest loop stall {result['stall_max_ms']:5.1f} ms"
                f" · {result['bytes'] / 1e6:.2f} MB sent",
                flush=True,
            )
    finally:
        await ctl.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bots", type=int, default=10_000)
    parser.add_argument("--scrapes", type=int, default=10)
    asyncio.run(main(parser.parse_args()))
