"""A stand-in for a Claude Code session: the process whose hooks (and status line) run as its
children, through a shell as Claude Code runs them. Each line on stdin is one hook event (JSON);
the hook's exit status and output come back as one JSON line on stdout. The hook command is
argv[1:], run by ``sh -c`` with the test's environment. A status-line event (``hook_event_name``
``Status``) goes to ``$FAKE_CLAUDE_STATUSLINE`` instead, when it is set."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

command = " ".join(shlex.quote(word) for word in sys.argv[1:])
statusline = os.environ.get("FAKE_CLAUDE_STATUSLINE")
print("READY", flush=True)
for line in sys.stdin:
    try:
        event = json.loads(line)
    except ValueError:
        event = None  # garbage for the hook to meet
    status = statusline and isinstance(event, dict) and event.get("hook_event_name") == "Status"
    run = statusline if status and statusline else command
    done = subprocess.run(["sh", "-c", run], input=line.encode(), capture_output=True)
    answer = {"rc": done.returncode, "out": done.stdout.decode(), "err": done.stderr.decode()}
    print(json.dumps(answer), flush=True)
