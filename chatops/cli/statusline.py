"""``chatops statusline claude-code``: Claude Code's status-line command, which feeds chatops the
figures Claude Code already shows, with no agent code.

Claude Code runs the command after each message (at most every 300 ms) with the session as
JSON on stdin (``session_id``, ``cwd``, ``model.id``, ``workspace.project_dir``,
``cost.total_cost_usd``, ``context_window.total_input_tokens``…, and for Pro and Max plans
``rate_limits.five_hour`` / ``seven_day`` with ``used_percentage`` and ``resets_at``) and shows
the first line it prints. This command, in one Unix-socket connection, pipelines:

1. ``agent_session`` (``event: activity``): the session is alive, its model, cost, context;
2. ``model_usage``: the plan's windows as the pools ``claude 5h`` and ``claude 7d`` (used = the
   window's %, limit 100), shared by every session of the account, so the quota alerts fire
   once for the plan and not once per session;
3. ``usage_totals``: the session's running cost and tokens, stored by the controller as their
   increase (the same totals twice are counted once).

It never waits on a slow controller: the whole exchange has 80 ms (so the command, Python's
start included, stays within 150 ms), and any failure is skipped silently (nothing on stderr,
which Claude Code would show). Nothing is lost by a skip: the totals are cumulative and the
pools absolute, so the next redraw carries them. Nothing is stored on disk.

Then it prints a status line: its own (``Sonnet 4.5 · $0.42 · ctx 37% · 5h 28% left``), or
with ``--then CMD`` the output of the user's own status-line command, which is started first
(``shell=True``, the same JSON on stdin, 1 s at most) so both run at once; if that command
fails or overruns, chatops's own line is printed instead.

Light on purpose, like the hook: ``json``, ``socket`` and ``subprocess`` only, bodies as the
protocol spells them in JSON (a test decodes them with :mod:`chatops.wire.protocol`).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from datetime import datetime
from typing import Any, BinaryIO, TextIO

from chatops.client.sessions import session_name, session_process
from chatops.records.plans import PLAN_POOL_PREFIX, PLAN_WINDOWS

EXCHANGE_TIMEOUT = 0.08
"""Connecting and sending, at most: a status line is drawn while the user types. Nothing is
waited for after that (no reply, no commit): the next redraw carries the same figures."""
THEN_TIMEOUT = 1.0
"""Pools ``claude 5h`` and ``claude 7d``: the plan's windows, as Claude's ``/usage`` shows them."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_COST = 100_000.0
MAX_TOKENS = 10**15


def _get(event: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(event, dict):
            return None
        event = event.get(key)
    return event


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value == value and abs(value) != float("inf") else None


def _name(value: Any) -> str | None:
    """A protocol ``Name``: 1-128 printable characters, or None."""
    if not isinstance(value, str):
        return None
    text = _CONTROL.sub("", value).strip()[:128]
    return text or None


def _percent(value: Any) -> float | None:
    number = _number(value)
    return None if number is None else min(100.0, max(0.0, number))


def epoch_seconds(value: Any) -> float | None:
    """A reset time as epoch seconds, from epoch seconds (what Claude Code sends), epoch
    milliseconds, or an ISO 8601 time (what some versions sent); None when unreadable."""
    number = _number(value)
    if number is None and isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            try:
                when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                return None
            if when.tzinfo is None:
                return None
            number = when.timestamp()
    if number is None:
        return None
    if number >= 1e12:
        number /= 1000.0
    return number if 1e9 <= number < 1e10 else None


def agent_name(event: dict[str, Any], explicit: str | None) -> str:
    """``--agent``, else the project's folder name (``workspace.project_dir``, else ``cwd``):
    the name the session's hooks give it (:func:`chatops.client.sessions.session_name`)."""
    project = _get(event, "workspace", "project_dir")
    cwd = event.get("cwd")
    where = project if isinstance(project, str) and project else cwd
    return session_name(explicit, where.rstrip("/") if isinstance(where, str) else None)


def context_pct(event: dict[str, Any]) -> float | None:
    """How full the context window is: ``used_percentage``, else the current usage over the
    window's size."""
    window = event.get("context_window")
    used = _percent(_get(window, "used_percentage"))
    if used is not None:
        return used
    size = _number(_get(window, "context_window_size"))
    current = _get(window, "current_usage")
    if not size or not isinstance(current, dict):
        return None
    keys = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    tokens = sum(_number(current.get(key)) or 0.0 for key in keys)
    return _percent(100.0 * tokens / size)


def report_bodies(event: dict[str, Any], agent: str, pid: int) -> list[dict[str, Any]]:
    """The ``agent_session``, ``model_usage`` and ``usage_totals`` requests for one status-line
    event, as the protocol spells them in JSON; what the event lacks is left out."""
    model = _name(_get(event, "model", "id")) or _name(_get(event, "model", "display_name"))
    session = _name(event.get("session_id"))
    cost = _number(_get(event, "cost", "total_cost_usd"))
    cost = None if cost is None else min(MAX_COST, max(0.0, cost))
    cwd = _get(event, "workspace", "current_dir") or event.get("cwd")
    session_event: dict[str, Any] = {
        "type": "agent_session",
        "agent": agent,
        "pid": pid,
        "event": "activity",
        "kind": "claude-code",
        "session_id": session,
        "cwd": cwd[:2000] if isinstance(cwd, str) else None,
        "model": model,
        "cost_usd": cost,
        "context_pct": context_pct(event),
    }
    bodies = [{k: v for k, v in session_event.items() if v is not None}]
    pools = []
    for key, window in PLAN_WINDOWS:
        used = _percent(_get(event, "rate_limits", key, "used_percentage"))
        if used is None:
            continue
        pool: dict[str, Any] = {
            "name": f"{PLAN_POOL_PREFIX} {window}",
            "used": used,
            "limit": 100,
            "window": window,
        }
        resets_at = epoch_seconds(_get(event, "rate_limits", key, "resets_at"))
        if resets_at is not None:
            pool["resets_at"] = resets_at
        pools.append(pool)
    if pools:
        bodies.append(
            {
                "type": "model_usage",
                "channel": agent,
                "family": "claude",
                "model_name": model or "claude",
                "pools": pools,
            }
        )
    if session and model:
        counts = event.get("context_window")
        keys = ("total_input_tokens", "total_output_tokens")
        tokens = [_number(_get(counts, key)) for key in keys]
        bodies.append(
            {
                "type": "usage_totals",
                "channel": agent,
                "session": session,
                "model": model,
                "cost_usd": cost or 0.0,
                "tokens_in": int(min(MAX_TOKENS, max(0.0, tokens[0] or 0.0))),
                "tokens_out": int(min(MAX_TOKENS, max(0.0, tokens[1] or 0.0))),
            }
        )
    return bodies


def own_line(event: dict[str, Any]) -> str:
    """``model · $cost · ctx N% · 5h N% left · 7d N% left``, what the event has of it."""
    parts = []
    model = _name(_get(event, "model", "display_name")) or _name(_get(event, "model", "id"))
    if model:
        parts.append(model)
    cost = _number(_get(event, "cost", "total_cost_usd"))
    if cost is not None:
        parts.append(f"${cost:.2f}")
    context = context_pct(event)
    if context is not None:
        parts.append(f"ctx {context:.0f}%")
    for key, window in PLAN_WINDOWS:
        used = _percent(_get(event, "rate_limits", key, "used_percentage"))
        if used is not None:
            parts.append(f"{window} {100 - used:.0f}% left")
    return " · ".join(parts) or "chatops"


def _report(config: str | None, event: dict[str, Any], agent: str | None) -> None:
    """Send what the event says; any failure is skipped (the next redraw makes up for it)."""
    from chatops.client.blocking import send_json
    from chatops.config_file import configured_socket_path, resolve_config_path

    try:
        socket_path = configured_socket_path(resolve_config_path(config, search_cwd=False))
        bodies = report_bodies(event, agent_name(event, agent), session_process())
        send_json(socket_path, *bodies, timeout=EXCHANGE_TIMEOUT)
    except Exception:  # noqa: S110 - a status line says nothing of a controller's absence
        pass


def _start_then(command: str, data: bytes) -> subprocess.Popen[bytes] | None:
    try:
        proc = subprocess.Popen(  # noqa: S602 - the user's own command, from their settings
            command,
            shell=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own group: an overrun is killed whole
        )
    except OSError:
        return None
    stdin, proc.stdin = proc.stdin, None  # ours to feed: communicate() must not touch it

    def feed() -> None:
        # A thread: a command that reads nothing must not block us on a full pipe.
        try:
            assert stdin is not None
            with stdin:
                stdin.write(data)
        except OSError:
            pass  # it did not read its input: its output may still be fine

    threading.Thread(target=feed, daemon=True).start()
    return proc


def _then_output(proc: subprocess.Popen[bytes]) -> str | None:
    try:
        out, _ = proc.communicate(timeout=THEN_TIMEOUT)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
        proc.communicate()
        return None
    if proc.returncode != 0 or not out.strip():
        return None
    return out.decode("utf-8", "replace")


def statusline(
    config: str | None, agent: str | None, then: str | None, stdin: BinaryIO, stdout: TextIO
) -> int:
    """Report, then print one status line; exit 0 whatever happens (a status line that
    fails is blank in Claude Code, and an error there helps nobody)."""
    event: dict[str, Any] = {}
    text = None
    try:
        data = stdin.read()
        proc = _start_then(then, data) if then else None  # first: it runs while we report
        try:
            parsed = json.loads(data)
        except ValueError:
            parsed = None
        event = parsed if isinstance(parsed, dict) else {}
        if event:
            _report(config, event, agent)
        text = _then_output(proc) if proc is not None else None
    except Exception:  # noqa: S110 - still a line below
        pass
    if text is None:
        text = own_line(event) + "\n"
    stdout.write(text if text.endswith("\n") else text + "\n")
    stdout.flush()
    return 0


def statusline_command(config: str | None, agent: str | None, then: str | None) -> int:
    return statusline(config, agent, then, sys.stdin.buffer, sys.stdout)
