"""A stand-in for a Claude Code session: the process whose hooks run as its children, through
a shell as Claude Code runs them. Each line on stdin is one hook event (JSON); the hook's exit
status and output come back as one JSON line on stdout. The hook command is argv[1:], run by
``sh -c`` with the test's environment."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys

command = " ".join(shlex.quote(word) for word in sys.argv[1:])
print("READY", flush=True)
for line in sys.stdin:
    done = subprocess.run(["sh", "-c", command], input=line.encode(), capture_output=True)
    answer = {"rc": done.returncode, "out": done.stdout.decode(), "err": done.stderr.decode()}
    print(json.dumps(answer), flush=True)
