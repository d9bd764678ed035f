"""The example bot in examples/ really runs against a controller."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import query, wait_for

ROOT = Path(__file__).resolve().parents[1]


async def test_example_bot_registers_heartbeats_and_logs_usage(controller_process) -> None:
    ctl = controller_process()
    ctl.start()
    env = {
        **os.environ,
        "CHATOPS_MONITORING__SOCKET_PATH": str(ctl.socket_path),
        "BOT_CHANNEL": "example",
    }
    # Started with SIGINT ignored, as from a background job: Ctrl-C must still stop it.
    bot = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "example_bot.py")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        await wait_for(
            lambda: (
                query(ctl.db, "SELECT COUNT(*) FROM llm_usage WHERE channel='example'")[0][0] >= 1
            ),
            timeout=30,
        )
        await wait_for(
            lambda: (
                query(ctl.db, "SELECT COUNT(*) FROM bot_metrics WHERE channel='example'")[0][0] >= 1
            ),
            timeout=30,
        )
        assert query(ctl.db, "SELECT status FROM bot_status WHERE channel='example'") == [
            ("online",)
        ]
        bot.send_signal(signal.SIGINT)
        assert bot.wait(30) == 0, bot.stderr.read()
        await wait_for(
            lambda: (
                query(ctl.db, "SELECT status FROM bot_status WHERE channel='example'")
                == [("offline",)]
            )
        )
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait()
        ctl.stop()
