"""A stand-in for a coding-agent session (Claude Code): a process of its own that runs
``chatops hook claude-code`` as its child for each job line on stdin, as Claude Code runs its
hooks, and prints each run's result as a line. Started in a session of its own
(``start_new_session``), so a shell the test starts stands apart from it, as an operator's
terminal stands apart from the agent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from typing import Any

lock = threading.Lock()


def run(job: dict[str, Any]) -> None:
    args = [str(a) for a in job["args"]]
    proc = subprocess.run(
        [sys.executable, "-m", "chatops.cli", *args],
        input=str(job["stdin"]).encode(),
        capture_output=True,
        cwd=str(job["cwd"]),
        env=dict(job["env"]),
        timeout=120,
        check=False,
    )
    result = {
        "job": job["job"],
        "code": proc.returncode,
        "out": proc.stdout.decode(),
        "err": proc.stderr.decode(),
    }
    with lock:
        print(json.dumps(result), flush=True)


print(json.dumps({"ready": True, "pid": os.getpid()}), flush=True)
for line in sys.stdin:
    threading.Thread(target=run, args=(json.loads(line),), daemon=True).start()
