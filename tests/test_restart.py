"""A controller restart under load: real ``chatops run`` process, 20 real bot processes."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from chatops.client.blocking import request
from chatops.wire.protocol import GetStatus
from tests.conftest import kill_quietly, query, spawn_bot, wait_for

BOTS = 20
EVENTS = 60


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
async def test_restart_with_20_clients_loses_nothing_and_stores_nothing_twice(
    controller_process, workdir: Path, how: signal.Signals
) -> None:
    ctl = controller_process(restart_grace=30)
    ctl.start()
    bots = [
        spawn_bot(
            "event_bot.py",
            str(ctl.socket_path),
            f"bot{n:02d}",
            str(EVENTS),
            "0.05",
            str(workdir / f"bot{n:02d}.json"),
            stdin=subprocess.PIPE,
        )
        for n in range(BOTS)
    ]
    try:
        for bot in bots:
            line = await asyncio.to_thread(bot.stdout.readline)
            assert line.strip() == b"READY"
        # Let some events land, then take the controller away mid-stream.
        await wait_for(lambda: query(ctl.db, "SELECT COUNT(*) FROM llm_usage")[0][0] >= BOTS * 5)
        ctl.stop(how)
        time.sleep(0.5)  # the bots keep logging into their spools meanwhile
        ctl.start()

        for bot in bots:
            line = await asyncio.to_thread(bot.stdout.readline)
            assert line.strip() == b"DONE", bot.stderr.read()
        reports = {n: json.loads((workdir / f"bot{n:02d}.json").read_text()) for n in range(BOTS)}

        # Every bot reconnected and registered again: all 20 are online after the restart.
        status = request(ctl.socket_path, GetStatus())
        online = {b["channel"] for b in status["bots"] if b["status"] == "online"}
        assert online == {f"bot{n:02d}" for n in range(BOTS)}
        assert all(
            r["connects"] >= 2 and r["drained"] and r["dropped"] == 0 for r in reports.values()
        )
        assert any(len(r["acked"]) < EVENTS for r in reports.values()), (
            "the outage did not catch any event in flight; the test proved nothing"
        )

        # Exactly once: no duplicates, and every event is there, acknowledged or replayed.
        duplicates = query(
            ctl.db,
            "SELECT channel, tokens_in, COUNT(*) FROM llm_usage "
            "GROUP BY channel, tokens_in HAVING COUNT(*) > 1",
        )
        assert duplicates == []
        stored = {(c, t) for c, t in query(ctl.db, "SELECT channel, tokens_in FROM llm_usage")}
        for n, report in reports.items():
            channel = f"bot{n:02d}"
            assert {(channel, i) for i in report["acked"]} <= stored
            assert {(channel, i) for i in range(EVENTS)} <= stored
        assert len(stored) == BOTS * EVENTS

        for bot in bots:
            bot.stdin.close()
        for bot in bots:
            assert await asyncio.to_thread(bot.wait, 30) == 0
        await wait_for(
            lambda: (
                query(ctl.db, "SELECT COUNT(*) FROM bot_status WHERE status = 'offline'")
                == [(BOTS,)]
            )
        )
    finally:
        for bot in bots:
            kill_quietly(bot)
        ctl.stop()
