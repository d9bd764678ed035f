"""The web dashboard under load: the fleet page with 10,000 bots, and the controller's CPU with
100 live pages open while 1,000 bots heartbeat.

1. Render: the controller (in this process) holds N bots (default 10,000); the fleet page is
   fetched 20 times over HTTP (server time, first page of 100 rows) and opened in a headless
   Chromium (time to first contentful paint). The floor, in the same run: a bare aiohttp server
   answering the same HTML bytes.
2. Live: a child process keeps 1,000 bots heartbeating once a second over 20 connections and
   holds 100 live pages (server-sent event streams, each fetching the fleet fragment again when
   told). The controller's CPU is measured over each phase: heartbeats alone (the floor), with
   the 100 pages idle, and with 10 bots going down and back every second (so every page is
   told, at most four times a second).

    python bench/web_dashboard.py
    python bench/web_dashboard.py --bots 2000 --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatops.api.door import SocketDoor
from chatops.composition.controller import Controller
from chatops.config import MonitoringConfig, Settings
from chatops.config.http import HttpConfig
from chatops.records.web import Role
from chatops.services.callers import Caller
from chatops.web.door import HttpDoor


async def timed_gets(url: str, cookies: dict[str, str], times: int) -> tuple[list[float], bytes]:
    took, body = [], b""
    async with aiohttp.ClientSession(cookies=cookies) as http:
        for _ in range(times):
            started = time.perf_counter()
            async with http.get(url) as response:
                body = await response.read()
            took.append(time.perf_counter() - started)
    return took, body


def first_paint(url: str, cookie: dict[str, str] | None) -> float:
    """Chromium's first contentful paint for ``url`` in ms (when headless records none, the end
    of DOMContentLoaded), after a cookie, if any, is set; the median of five loads."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        if cookie is not None:
            driver.get(url + "static/style.css")
            driver.add_cookie(cookie)
        paints = []
        for _ in range(5):
            driver.get(url)
            paints.append(
                driver.execute_script(
                    "const paint = performance.getEntriesByName('first-contentful-paint')[0];"
                    "return paint ? paint.startTime"
                    " : performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd;"
                )
            )
        return float(statistics.median(paints))
    finally:
        driver.quit()


async def bare_server(body: bytes) -> tuple[web.AppRunner, str]:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}/"


# -- the load, in a child process ---------------------------------------------------------------


def load_process(sock: str, base: str, cookie: str, bots: int, pages: int, phases: Any) -> None:
    asyncio.run(_load(sock, base, cookie, bots, pages, phases))


async def _load(sock: str, base: str, cookie: str, bots: int, pages: int, phases: Any) -> None:
    connections = []
    per = max(1, bots // 20)
    for start in range(0, bots, per):
        reader, writer = await asyncio.open_unix_connection(sock)
        names = [f"live-{i:04d}" for i in range(start, min(bots, start + per))]
        for name in names:
            writer.write(
                json.dumps(
                    {
                        "type": "register",
                        "channel": name,
                        "pid": os.getpid(),
                        "features": {"llm": True},
                    }
                ).encode()
                + b"\n"
            )
        connections.append((reader, writer, names))
    stop = asyncio.Event()

    async def heartbeat(writer: asyncio.StreamWriter, names: list[str]) -> None:
        while not stop.is_set():
            writer.write(
                b"".join(
                    b'{"type":"heartbeat","channel":"%s","rss_mb":80,"cpu_pct":1}\n' % n.encode()
                    for n in names
                )
            )
            await asyncio.sleep(1)

    async def drain(reader: asyncio.StreamReader) -> None:
        while await reader.read(65536):
            pass

    tasks = [asyncio.create_task(heartbeat(w, n)) for _, w, n in connections]
    tasks += [asyncio.create_task(drain(r)) for r, _, _ in connections]
    # No connection limit: 100 streams stay open while their pages fetch.
    http = aiohttp.ClientSession(
        cookies={"chatops_session": cookie}, connector=aiohttp.TCPConnector(limit=0)
    )
    fetched = [0]

    async def live_page() -> None:
        async with http.get(base + "events") as stream:
            async for line in stream.content:
                if line.startswith(b"data:"):
                    async with http.get(base + "?part=live") as r:
                        await r.read()
                    fetched[0] += 1

    flapper: asyncio.Task[None] | None = None
    # The parent paces the phases; the queue is read in a thread, so the load runs meanwhile.
    while (phase := await asyncio.to_thread(phases.get)) is not None:
        if phase == "pages":
            tasks += [asyncio.create_task(live_page()) for _ in range(pages)]
        elif phase == "flap":
            flapper = asyncio.create_task(_flap(sock))
    if flapper is not None:
        flapper.cancel()
    print(f"  (the live pages fetched their fragment {fetched[0]:,} times)", flush=True)
    stop.set()
    for task in tasks:
        task.cancel()
    await http.close()


async def _flap(sock: str) -> None:
    """10 bots registered on a connection that closes every second: down, then back."""
    while True:
        _, writer = await asyncio.open_unix_connection(sock)
        for i in range(10):
            writer.write(
                json.dumps(
                    {"type": "register", "channel": f"flap-{i}", "pid": os.getpid(), "features": {}}
                ).encode()
                + b"\n"
            )
        await writer.drain()
        await asyncio.sleep(0.5)
        writer.close()
        await asyncio.sleep(0.5)


async def cpu_over(seconds: float) -> float:
    """The controller's (this process's) CPU over ``seconds``, in % of one core."""
    me = psutil.Process()
    before = sum(me.cpu_times()[:2])
    await asyncio.sleep(seconds)
    return (sum(me.cpu_times()[:2]) - before) / seconds * 100


async def main(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="co-web-"))
    settings = Settings(
        monitoring=MonitoringConfig(
            socket_path=work / "m.sock", database_path=work / "c.db", verify_peer_pid=False
        ),
        http=HttpConfig(listen="127.0.0.1:0"),
    )
    ctl = Controller(settings, socket_door=SocketDoor, http_door=HttpDoor)
    await ctl.start()
    try:
        host, port = ctl.http_addresses[0]
        base = f"http://{host}:{port}/"
        sessions = ctl.services.web_sessions
        opened = sessions.redeem(sessions.issue_link("bench", Role.VIEWER), "bench")
        cookies = {"chatops_session": opened.token}
        owner = Caller(pid=os.getpid())
        fleet = ctl.services.fleet
        for i in range(args.bots):
            name = f"bot-{i:05d}"
            fleet.register(owner, name, os.getpid(), {"llm": True, "translator": i % 3 == 0})
            fleet.heartbeat(owner, name, rss_mb=50.0 + i % 100, cpu_pct=float(i % 40))
        await ctl.store.flush()
        took, body = await timed_gets(base, cookies, 20)
        runner, bare = await bare_server(body)
        floor, _ = await timed_gets(bare, {}, 20)
        paint = await asyncio.to_thread(
            first_paint, base, {"name": "chatops_session", "value": opened.token}
        )
        floor_paint = await asyncio.to_thread(first_paint, bare, None)
        await runner.cleanup()
        print(f"fleet page, {args.bots} bots ({len(body) / 1e3:.0f} kB, 100 rows):", flush=True)
        print(
            f"  floor (bare aiohttp, same bytes): server p50 {statistics.median(floor) * 1e3:6.1f}"
            f" ms · first paint {floor_paint:6.0f} ms"
        )
        print(
            f"  chatops                         : server p50 {statistics.median(took) * 1e3:6.1f}"
            f" ms · first paint {paint:6.0f} ms",
            flush=True,
        )
        for channel in list(fleet.bots):  # the live phase has a fleet of its own
            fleet.forget(channel)
        await ctl.store.flush()

        phases: Any = multiprocessing.Queue()
        child = multiprocessing.Process(
            target=load_process,
            args=(str(settings.monitoring.socket_path), base, opened.token, 1000, 100, phases),
        )
        child.start()
        await asyncio.sleep(3)  # registered, heartbeating
        results = {"1,000 bots heartbeating (floor)": await cpu_over(args.seconds)}
        phases.put("pages")
        await asyncio.sleep(2)
        results["+ 100 live pages, idle"] = await cpu_over(args.seconds)
        phases.put("flap")
        await asyncio.sleep(2)
        results["+ 10 bots down and back every second"] = await cpu_over(args.seconds)
        phases.put(None)
        child.join(10)
        if child.is_alive():
            child.kill()
        print(f"controller CPU (one core = 100%), {args.seconds:g} s each:")
        for label, cpu in results.items():
            print(f"  {label:<40} {cpu:5.1f}%", flush=True)
    finally:
        await ctl.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bots", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10)
    asyncio.run(main(parser.parse_args()))
