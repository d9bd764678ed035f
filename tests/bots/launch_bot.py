"""A restart_command for the tests: starts the recovery bot for CHANNEL in the background (its
own session, as systemd would) and exits at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
socket_path, channel = sys.argv[1], sys.argv[2]
subprocess.Popen(
    [sys.executable, str(HERE / "recovery_bot.py"), socket_path, channel, "plain"],
    start_new_session=True,
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
)
print(f"launched {channel}")
