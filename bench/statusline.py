"""Claude Code status-line latency: wall time of one ``chatops statusline claude-code`` call,
process start to exit, as Claude Code pays it on every redraw. The budget is 150 ms.

Variants, alternating so all see the same machine: ``python -c pass`` (the floor); the status
line with the controller running (the session's bot registered by this process, the status
line's parent, so every report is stored); the same with ``--then`` a user's command; no
controller (no socket); and a controller that accepts and never answers (the 80 ms exchange
deadline is what bounds it). Prints p50/p90/p99 and how many calls went over 150 ms.

    python bench/statusline.py               # 100 calls each
    python bench/statusline.py --calls 300
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from hook import percentile, wait_for_socket  # beside this script: the hook bench's own

ROOT = Path(__file__).resolve().parent.parent
ENTRY = "import sys; from chatops.cli import main; sys.exit(main())"
BUDGET = 0.150
EVENT = {
    "session_id": "bench-session",
    "cwd": "/home/u/proj",
    "model": {"id": "claude-sonnet-4-5", "display_name": "Sonnet 4.5"},
    "workspace": {"current_dir": "/home/u/proj", "project_dir": "/home/u/proj"},
    "version": "2.1.90",
    "cost": {"total_cost_usd": 0.0, "total_duration_ms": 1000},
    "context_window": {
        "total_input_tokens": 0,
        "total_output_tokens": 0,
        "context_window_size": 200000,
        "used_percentage": 10,
    },
    "rate_limits": {
        "five_hour": {"used_percentage": 40, "resets_at": 1_900_000_000},
        "seven_day": {"used_percentage": 20, "resets_at": 1_900_500_000},
    },
}


def register(path: Path, name: str) -> socket.socket:
    """Register ``name`` for this process on a connection kept open (the session's bot)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(path))
    body = {"id": 1, "type": "register", "channel": name, "pid": os.getpid(), "features": {}}
    sock.sendall(json.dumps(body).encode() + b"\n")
    reply = json.loads(sock.makefile().readline())
    assert reply.get("ok"), reply
    return sock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sb-", dir="/tmp") as tmp:
        work = Path(tmp)
        socket_path = work / "m.sock"
        silent_path = work / "silent.sock"
        config = work / "config.yaml"
        monitoring = {"socket_path": str(socket_path), "database_path": str(work / "c.db")}
        config.write_text(yaml.safe_dump({"monitoring": monitoring}))
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("CHATOPS_") and k != "PYTHONDONTWRITEBYTECODE"
        }
        env.update(CHATOPS_CONFIG=str(config), PYTHONPATH=str(ROOT))
        controller = subprocess.Popen(
            [sys.executable, "-c", ENTRY, "run"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        silent.bind(str(silent_path))
        silent.listen(1024)
        try:
            wait_for_socket(socket_path, controller)
            bot = register(socket_path, "bench")
            line = [sys.executable, "-c", ENTRY, "statusline", "claude-code", "--agent", "bench"]
            then = [*line, "--then", "cat >/dev/null; echo mine"]
            variants: dict[str, tuple[list[str], dict[str, str]]] = {
                "floor: python -c pass": ([sys.executable, "-c", "pass"], {}),
                "controller running": (line, {}),
                "controller running, --then CMD": (then, {}),
                "no controller (no socket)": (line, {"CHATOPS_CONFIG": str(work / "none")}),
                "silent controller": (
                    line,
                    {"CHATOPS_MONITORING__SOCKET_PATH": str(silent_path)},
                ),
            }
            times: dict[str, list[float]] = {name: [] for name in variants}
            for call in range(-1, args.calls):  # call -1 writes the bytecode: not counted
                for name, (command, extra) in variants.items():
                    event = dict(EVENT, cost={"total_cost_usd": call / 100 + 0.01})
                    started = time.perf_counter()
                    subprocess.run(
                        command,
                        input=json.dumps(event).encode(),
                        capture_output=True,
                        env={**env, **extra},
                        check=True,
                    )
                    if call >= 0:
                        times[name].append(time.perf_counter() - started)
            bot.close()
        finally:
            silent.close()
            controller.terminate()
            controller.wait(30)
    print(f"status line wall time, {args.calls} calls each ({os.cpu_count()} cores)")
    print(f"{'variant':<34} {'p50':>8} {'p90':>8} {'p99':>8} {'mean':>8}  over 150 ms")
    for name, values in times.items():
        cells = [percentile(values, q) * 1000 for q in (0.5, 0.9, 0.99)]
        cells.append(statistics.fmean(values) * 1000)
        over = sum(1 for value in values if value > BUDGET)
        print(f"{name:<34} " + " ".join(f"{cell:6.1f}ms" for cell in cells) + f"  {over:>4}")


if __name__ == "__main__":
    main()
