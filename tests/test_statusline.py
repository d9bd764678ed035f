"""``chatops statusline claude-code`` as Claude Code runs it: a real process, the session's JSON
on stdin, a real controller (or none). The session's bot is registered by this test with its
own pid (until ``agent_session`` is served), so the status line, its child, may speak for it."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from chatops.cli.statusline import agent_name, epoch_seconds, own_line, report_bodies
from chatops.composition.controller import Controller
from chatops.config import Settings
from chatops.records.alerts import Severity
from chatops.services.quotas.events import QuotaCrossed
from chatops.wire.agent_requests import AgentSession
from chatops.wire.protocol import ModelUsage, UsageTotals, decode
from tests.conftest import query, register, wait_for

RESETS = 1_900_000_000
WEEK_RESETS = datetime(2030, 3, 28, 15, tzinfo=UTC).timestamp()
SESSION = "4f1c2a9e-8d7b-4c1e-9a55-0e2b7f3d6c10"


def payload(five_hour: float = 72.0, cost: float = 0.42, **fields: Any) -> dict[str, Any]:
    """A status-line event as Claude Code writes it on stdin (a Max plan, after a reply)."""
    return {
        "hook_event_name": "Status",
        "session_id": SESSION,
        "transcript_path": f"/home/u/.claude/projects/p/{SESSION}.jsonl",
        "cwd": "/home/u/work/proj",
        "model": {"id": "claude-sonnet-4-5", "display_name": "Sonnet 4.5"},
        "workspace": {"current_dir": "/home/u/work/proj/src", "project_dir": "/home/u/work/proj"},
        "version": "2.1.90",
        "output_style": {"name": "default"},
        "cost": {"total_cost_usd": cost, "total_duration_ms": 45000},
        "context_window": {
            "total_input_tokens": 15234,
            "total_output_tokens": 4521,
            "context_window_size": 200000,
            "used_percentage": 8,
        },
        "rate_limits": {
            "five_hour": {"used_percentage": five_hour, "resets_at": RESETS},
            "seven_day": {"used_percentage": 41.2, "resets_at": "2030-03-28T15:00:00Z"},
        },
        **fields,
    }


async def statusline(
    event: dict[str, Any] | bytes, socket_path: Path, *args: str
) -> tuple[str, str, float]:
    """Run the command; it must exit 0. Its stdout, stderr and wall time."""
    stdin = event if isinstance(event, bytes) else json.dumps(event).encode()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS_")}
    env["CHATOPS_MONITORING__SOCKET_PATH"] = str(socket_path)
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chatops.cli",
        "statusline",
        "claude-code",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), 60)
    assert proc.returncode == 0, (proc.returncode, err)
    return out.decode(), err.decode(), time.monotonic() - started


def test_the_bodies_are_the_protocols() -> None:
    bodies = report_bodies(payload(), "proj", 4242)
    session, usage, totals = (
        json.dumps({**body, "id": n}).encode() for n, body in enumerate(bodies)
    )
    # agent_session joins the union with its handler; its struct already holds it.
    assert msgspec.json.decode(session, type=AgentSession).context_pct == 8
    decoded = decode(usage)
    assert isinstance(decoded, ModelUsage) and decoded.channel == "proj"
    assert [(p.name, p.used, p.limit, p.resets_at, p.window) for p in decoded.pools] == [
        ("claude 5h", 72.0, 100.0, RESETS, "5h"),
        ("claude 7d", 41.2, 100.0, WEEK_RESETS, "7d"),
    ]
    running = decode(totals)
    assert isinstance(running, UsageTotals)
    assert (running.session, running.model, running.cost_usd) == (
        SESSION,
        "claude-sonnet-4-5",
        0.42,
    )
    assert (running.tokens_in, running.tokens_out) == (15234, 4521)


def test_what_an_event_may_lack() -> None:
    bare = {"session_id": SESSION, "model": {"id": "claude-opus-4-1"}}
    assert [b["type"] for b in report_bodies(bare, "x", 1)] == ["agent_session", "usage_totals"]
    assert [b["type"] for b in report_bodies({}, "x", 1)] == ["agent_session"]
    assert own_line({}) == "chatops"
    assert own_line(payload()) == "Sonnet 4.5 · $0.42 · ctx 8% · 5h 28% left · 7d 59% left"
    # The context from the current usage when no percentage is given.
    window = {"context_window_size": 200000, "current_usage": {"input_tokens": 50000}}
    assert "ctx 25%" in own_line({"context_window": window})
    assert agent_name(payload(), None) == "proj"
    assert agent_name({"cwd": "/srv/api/"}, None) == "api"
    assert agent_name({}, None) == "coding-agent"
    assert agent_name(payload(), "mine") == "mine"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1_900_000_000, 1_900_000_000.0),
        (1_900_000_000_000, 1_900_000_000.0),
        ("1900000000", 1_900_000_000.0),
        ("2030-03-28T15:00:00Z", WEEK_RESETS),
        ("2030-03-28T15:00:00", None),
        ("soon", None),
        (None, None),
        (-5, None),
    ],
)
def test_reset_times_in_either_form(value: Any, expected: float | None) -> None:
    assert epoch_seconds(value) == expected


async def test_a_session_at_72_percent_of_its_window(
    settings: Settings, start_controller: Any
) -> None:
    ctl: Controller = await start_controller()
    crossed: list[QuotaCrossed] = []
    ctl.services.bus.subscribe(QuotaCrossed, crossed.append)
    bot = await register(settings, "proj")  # with this test's pid: the status line's parent
    socket_path = settings.monitoring.socket_path
    out, err, _ = await statusline(payload(), socket_path)
    assert out == "Sonnet 4.5 · $0.42 · ctx 8% · 5h 28% left · 7d 59% left\n"
    assert err == ""  # agent_session's error reply (not served yet) is no concern of Claude's
    pools = ctl.services.quotas.pools.pools
    # The status line waits 100 ms at most: on a busy machine it may be gone before its
    # requests are served, so what it sent is waited for here.
    pool = await wait_for(lambda: pools.get("claude 5h"))
    assert pool.pct_left == pytest.approx(28.0) and pool.resets_at == RESETS
    assert pool.window == "5h" and pool.reported_by == "proj"
    assert ctl.services.quotas.pools.pools["claude 7d"].pct_left == pytest.approx(58.8)
    assert [(c.name, c.severity) for c in crossed] == [("claude 5h", Severity.WARNING)]

    # The same payload again (a redraw): no second alert, the cost counted once.
    seen = pool.updated_at
    await statusline(payload(), socket_path)
    await wait_for(lambda: pool.updated_at > seen)
    assert len(crossed) == 1
    db = settings.monitoring.database_path
    await ctl.store.flush()
    rows = query(db, "SELECT tokens_in, tokens_out, estimated_cost FROM llm_usage")
    assert rows == [(15234, 4521, 0.42)]
    # More cost: only the increase is stored.
    await statusline(payload(cost=0.50), socket_path)
    running = ctl.services.usage_totals
    await wait_for(lambda: running.last("proj", SESSION).cost == 0.50)
    await ctl.store.flush()
    [(total,)] = query(db, "SELECT SUM(estimated_cost) FROM llm_usage WHERE channel = 'proj'")
    assert total == pytest.approx(0.50)
    await bot.close()


async def test_then_prints_the_users_own_line(
    settings: Settings, start_controller: Any, workdir: Path
) -> None:
    ctl: Controller = await start_controller()
    bot = await register(settings, "mine")
    script = workdir / "line.py"
    script.write_text(
        "import json, sys\nevent = json.load(sys.stdin)\nprint('mine:', event['model']['id'])\n"
    )
    out, _, _ = await statusline(
        payload(),
        settings.monitoring.socket_path,
        "--agent",
        "mine",
        "--then",
        f"{sys.executable} {script}",
    )
    assert out == "mine: claude-sonnet-4-5\n"
    pools = ctl.services.quotas.pools.pools
    assert (await wait_for(lambda: pools.get("claude 5h"))).reported_by == "mine"
    # A command that fails gives chatops's own line instead.
    out, _, _ = await statusline(payload(), settings.monitoring.socket_path, "--then", "exit 3")
    assert out.startswith("Sonnet 4.5 · ")
    await bot.close()


async def test_no_controller_still_a_line(workdir: Path) -> None:
    out, err, _ = await statusline(payload(), workdir / "nobody.sock")
    assert out.startswith("Sonnet 4.5 · $0.42") and err == ""
    out, err, _ = await statusline(b"not json", workdir / "nobody.sock")
    assert out == "chatops\n" and err == ""


async def test_a_silent_controller_is_not_waited_for(workdir: Path) -> None:
    """A socket that accepts and never answers: the line comes after the exchange's 80 ms,
    not after a request's usual seconds (the figure itself is bench/statusline.py's)."""
    path = workdir / "silent.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()
    try:
        out, err, seconds = await statusline(payload(), path)
    finally:
        server.close()
    assert out.startswith("Sonnet 4.5 · ") and err == ""
    assert seconds < 5.0
