"""A stand-in for a bot's own supervisor (systemd, a container, a shell loop): runs the bot
given on the command line, and starts it again whenever it exits, up to 5 times. Prints each
child's pid."""

from __future__ import annotations

import subprocess
import sys

for _ in range(5):
    child = subprocess.Popen([sys.executable, *sys.argv[1:]])
    print(f"CHILD {child.pid}", flush=True)
    code = child.wait()
    print(f"EXIT {code}", flush=True)
