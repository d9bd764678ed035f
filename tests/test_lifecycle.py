"""Real bot subprocesses against an in-process controller: death and silence."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from chatops.records.fleet import FleetEvent
from tests.conftest import (
    bot_status,
    kill_quietly,
    make_settings,
    new_controller,
    spawn_bot,
    wait_for,
)


async def _ready(proc) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 20)
    assert line.strip() == b"READY", (line, proc.stderr.read() if proc.poll() is not None else "")


async def test_sigkilled_bot_is_marked_down_promptly(workdir: Path) -> None:
    # The reap job runs once an hour and stale_timeout is a minute: only the dropped connection
    # or the pid watch can report this death within the test's bounded wait.
    settings = make_settings(workdir, reap_interval=3600)
    ctl = new_controller(settings)
    await ctl.start()
    events: list[tuple[float, FleetEvent]] = []
    ctl.services.bus.subscribe(FleetEvent, lambda e: events.append((time.monotonic(), e)))
    bot = spawn_bot("simple_bot.py", str(settings.monitoring.socket_path), "victim", "30")
    try:
        await _ready(bot)
        assert ctl.services.fleet.bots["victim"].status == "online"
        killed_at = time.monotonic()
        os.kill(bot.pid, signal.SIGKILL)
        # Not the next reap, nor a stale timeout (60 s here): the drop is seen at once.
        await wait_for(lambda: any(e.new_status == "down" for _, e in events), timeout=10)
        [(seen_at, event)] = [(t, e) for t, e in events if e.new_status == "down"]
        assert event.channel == "victim" and event.old_status == "online"
        assert event.detail in ("connection lost without unregister", f"pid {bot.pid} exited")
        assert seen_at >= killed_at
        db = settings.monitoring.database_path
        await ctl.store.flush()  # type: ignore[union-attr]
        assert bot_status(db, "victim") == "down"
    finally:
        kill_quietly(bot)
        await ctl.stop()


async def test_hung_bot_goes_late_then_stale_on_time(workdir: Path) -> None:
    settings = make_settings(
        workdir, heartbeat_interval=1, late_grace=0.5, stale_timeout=3, reap_interval=0.05
    )
    ctl = new_controller(settings)
    await ctl.start()
    events: list[FleetEvent] = []
    ctl.services.bus.subscribe(FleetEvent, events.append)
    bot = spawn_bot("simple_bot.py", str(settings.monitoring.socket_path), "sleepy", "0.2")
    try:
        await _ready(bot)
        assert ctl.services.fleet is not None
        await wait_for(lambda: ctl.services.fleet.bots["sleepy"].rss_mb is not None)  # type: ignore[union-attr]
        os.kill(bot.pid, signal.SIGSTOP)  # alive and connected, but silent
        await wait_for(lambda: any(e.new_status == "stale" for e in events), timeout=20)
        last_heartbeat = ctl.services.fleet.bots["sleepy"].last_heartbeat
        late = next(e for e in events if e.new_status == "late")
        stale = next(e for e in events if e.new_status == "stale")
        # Never early; and late, by at most the reap resolution plus scheduling slack.
        assert 1.5 <= late.ts - last_heartbeat < 1.5 + 2
        assert 3.0 <= stale.ts - last_heartbeat < 3.0 + 2
        assert late.old_status == "online" and stale.old_status == "late"
        assert not any(e.new_status == "down" for e in events)
        os.kill(bot.pid, signal.SIGCONT)  # it wakes up and heartbeats: back online
        await wait_for(lambda: ctl.services.fleet.bots["sleepy"].status == "online")  # type: ignore[union-attr]
    finally:
        kill_quietly(bot)
        await ctl.stop()
