"""Claude Code hook latency: wall time of one ``chatops hook claude-code`` call, process start to
exit, with the controller running, as Claude Code pays it on every tool call.

The same event (a ``Write`` of a relative path in the project, which both releases accept) is
sent ``--calls`` times to this tree's hook and to the previous release's (a ``git worktree`` of
``--baseline``, run by the same interpreter), alternating so both see the same machine;
``python -c pass`` is the floor. Then the controller is stopped and this tree's hook is timed
alone (it runs the policy itself). Prints p50/p90/p99 per variant.

    python bench/hook.py                    # 100 calls each, baseline 14c9c8e
    python bench/hook.py --calls 300 --baseline HEAD~5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PREVIOUS_RELEASE = "14c9c8e"
"""The last main before the hook's fast path."""
ENTRY = "import sys; from chatops.cli import main; sys.exit(main())"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def wait_for_socket(path: Path, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the controller did not start (exit {proc.poll()})")
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--baseline", default=PREVIOUS_RELEASE, help="git ref of the baseline")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hb-", dir="/tmp") as tmp:
        work = Path(tmp)
        project = work / "project"
        project.mkdir()
        # The controller's socket at its default place (under $XDG_RUNTIME_DIR), and two
        # configs that reach it: one that names monitoring.socket_path (the hook parses the
        # YAML) and one that does not (the hook skips the parser).
        runtime = work / "run"
        runtime.mkdir(mode=0o700)
        socket_path = runtime / "chatops" / "monitor.sock"
        config = work / "config.yaml"
        config.write_text(yaml.safe_dump({"monitoring": {"database_path": str(work / "c.db")}}))
        named = work / "named.yaml"
        monitoring = {"socket_path": str(socket_path), "database_path": str(work / "c.db")}
        named.write_text(yaml.safe_dump({"monitoring": monitoring}))
        baseline = work / "baseline"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(baseline), args.baseline],
            check=True,
            capture_output=True,
        )
        # Bytecode is written and reused, as on a user's machine (a sandbox may disable it,
        # and then every call compiles chatops from source); one warm-up call writes it.
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("CHATOPS_") and k != "PYTHONDONTWRITEBYTECODE"
        }
        env["CHATOPS_CONFIG"] = str(config)
        env["XDG_RUNTIME_DIR"] = str(runtime)
        controller = subprocess.Popen(
            [sys.executable, "-c", ENTRY, "run"],
            env={**env, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_socket(socket_path, controller)
            event = json.dumps(
                {
                    "hook_event_name": "PreToolUse",
                    "cwd": str(project),
                    "tool_name": "Write",
                    "tool_input": {"file_path": "src/app.py", "content": "x = 1\n"},
                }
            ).encode()
            hook = [sys.executable, "-c", ENTRY, "hook", "claude-code"]
            variants: dict[str, tuple[list[str], Path, dict[str, str]]] = {
                "floor: python -c pass": ([sys.executable, "-c", "pass"], ROOT, {}),
                f"previous release ({args.baseline})": (hook, baseline, {}),
                "this tree": (hook, ROOT, {}),
                "this tree, config names socket_path": (hook, ROOT, {"CHATOPS_CONFIG": str(named)}),
            }
            times: dict[str, list[float]] = {name: [] for name in variants}

            def timed(command: list[str], tree: Path, extra: dict[str, str]) -> float:
                """One call's wall time; a hook call must answer ``allow``."""
                started = time.perf_counter()
                result = subprocess.run(
                    command,
                    input=event,
                    capture_output=True,
                    cwd=project,
                    env={**env, "PYTHONPATH": str(tree), **extra},
                    check=True,
                )
                elapsed = time.perf_counter() - started
                if command is hook:
                    answer = json.loads(result.stdout)["hookSpecificOutput"]
                    assert answer["permissionDecision"] == "allow", answer
                return elapsed

            for call in range(-1, args.calls):  # call -1 writes the bytecode: not counted
                for name, (command, tree, extra) in variants.items():
                    elapsed = timed(command, tree, extra)
                    if call >= 0:
                        times[name].append(elapsed)
            # The controller away: the hook loads the configuration and the policy itself.
            controller.terminate()
            controller.wait(30)
            away = "this tree, controller stopped (local policy)"
            times[away] = [timed(hook, ROOT, {}) for _ in range(args.calls + 1)][1:]
        finally:
            controller.terminate()
            controller.wait(30)
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)],
                check=False,
                capture_output=True,
            )
    print(f"hook wall time, {args.calls} calls each, controller running ({os.cpu_count()} cores)")
    print(f"{'variant':<46} {'p50':>8} {'p90':>8} {'p99':>8} {'mean':>8}")
    for name, values in times.items():
        cells = [percentile(values, q) * 1000 for q in (0.5, 0.9, 0.99)]
        cells.append(statistics.fmean(values) * 1000)
        print(f"{name:<46} " + " ".join(f"{cell:6.1f}ms" for cell in cells))


if __name__ == "__main__":
    main()
