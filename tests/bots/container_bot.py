"""A bot in a container, as the controller sees it: its own pid namespace gives it the same pid
(PID) after every restart, on another HOST. Registers CHANNEL with that pid and host, writes its
real pid to PIDFILE and stays connected until the controller closes the connection.

With ``--restart`` it is the container's ``restart_command`` (``docker restart``): it stops the
instance named in PIDFILE, waits for it to be gone, starts a new one in the background and exits.
A registration refused because the old connection is not reaped yet is tried again, as a real
client reconnecting would; pushes (a ``control`` restart) are refused."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil


def refuse(sock: socket.socket, push: dict[str, object]) -> None:
    """Pushes are refused at once (the container is restarted from outside, not asked)."""
    if push.get("push_id"):
        answer = {"type": "push_reply", "push_id": push["push_id"], "ok": False, "error": "no"}
        sock.sendall(json.dumps(answer).encode() + b"\n")


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


socket_path, channel, pid, host, pidfile = sys.argv[1:6]

if sys.argv[6:] == ["--restart"]:
    old = int(Path(pidfile).read_text())
    os.kill(old, signal.SIGTERM)
    while alive(old):
        time.sleep(0.01)
    subprocess.Popen(
        [sys.executable, __file__, *sys.argv[1:6]],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    print(f"restarted {channel}")
    sys.exit(0)

Path(pidfile).write_text(str(os.getpid()))
message = {"id": 1, "type": "register", "channel": channel, "pid": int(pid), "host": host}
for _ in range(200):
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(socket_path)
    sock.sendall(json.dumps(message).encode() + b"\n")
    lines = sock.makefile("rb")
    reply = {}
    for line in lines:  # a push may come before the reply
        reply = json.loads(line)
        if reply.get("id") == 1:
            break
        refuse(sock, reply)
    if reply.get("ok"):
        break
    sock.close()
    time.sleep(0.05)
print(json.dumps(reply), flush=True)
for line in lines:  # the end of the connection ends the bot
    refuse(sock, json.loads(line))
