"""``chatops watch codex``: Codex's rollout lines parsed (as recorded from Codex 0.46-0.58 and
older builds), and the watcher against a real controller and real files."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from chatops.client.codex_logs import RolloutState, rate_limit_pools, sessions_dir, window_label
from chatops.client.codex_watch import RolloutTail, SessionFiles, watch_codex
from chatops.client.monitor import MonitorClient
from chatops.composition.controller import Controller
from chatops.config import Settings
from chatops.records.alerts import Severity
from chatops.services.quotas.events import QuotaCrossed
from tests.conftest import query, wait_for

SESSION = "019a2d7a-41c4-78b1-b7cc-a45d62a89cd5"
META = (
    '{"timestamp":"2025-10-29T00:59:38.317Z","type":"session_meta","payload":{"id":"'
    + SESSION
    + '","timestamp":"2025-10-29T00:59:38.308Z","cwd":"/private/tmp/proj",'
    '"originator":"codex_cli_rs","cli_version":"0.46.0","instructions":null,"source":"cli",'
    '"git":{}}}'
)
TURN = (
    '{"timestamp":"2025-10-29T00:59:38.317Z","type":"turn_context","payload":{"cwd":'
    '"/private/tmp/proj","approval_policy":"on-request","sandbox_policy":{"mode":'
    '"workspace-write"},"model":"gpt-5-codex","effort":"high","summary":"auto"}}'
)
NO_INFO = (
    '{"timestamp":"2025-11-18T21:55:53.328Z","type":"event_msg","payload":{"type":'
    '"token_count","info":null,"rate_limits":{"primary":{"used_percent":7.0,'
    '"window_minutes":300,"resets_at":1763483205},"secondary":{"used_percent":77.0,'
    '"window_minutes":10080,"resets_at":1763606387}}}}'
)
OLDER = (
    '{"timestamp":"2025-09-27T15:27:20.000Z","type":"event_msg","payload":{"type":"token_count",'
    '"info":{"total_token_usage":{"input_tokens":5200,"cached_input_tokens":2048,'
    '"output_tokens":14,"reasoning_output_tokens":0,"total_tokens":5214},"last_token_usage":'
    '{"input_tokens":5200,"cached_input_tokens":2048,"output_tokens":14,'
    '"reasoning_output_tokens":0,"total_tokens":5214},"model_context_window":272000},'
    '"rate_limits":{"primary":{"used_percent":0.0,"window_minutes":299,'
    '"resets_in_seconds":17941},"secondary":{"used_percent":22.0,"window_minutes":10079,'
    '"resets_in_seconds":322367}}}}'
)


def token_count(primary: float, tokens_in: int, tokens_out: int, resets_at: int) -> str:
    """A newer Codex's ``token_count`` line."""
    usage = {
        "input_tokens": tokens_in,
        "cached_input_tokens": tokens_in // 2,
        "output_tokens": tokens_out,
        "reasoning_output_tokens": tokens_out // 3,
        "total_tokens": tokens_in + tokens_out,
    }
    return json.dumps(
        {
            "timestamp": "2026-01-10T12:00:00.000Z",
            "type": "event_msg",
            "payload": {
                "type": "token_count",
                "info": {
                    "total_token_usage": usage,
                    "last_token_usage": usage,
                    "model_context_window": 272000,
                },
                "rate_limits": {
                    "primary": {
                        "used_percent": primary,
                        "window_minutes": 300,
                        "resets_at": resets_at,
                    },
                    "secondary": {
                        "used_percent": 30.0,
                        "window_minutes": 10080,
                        "resets_at": resets_at + 6 * 86400,
                    },
                },
            },
        }
    )


def test_the_lines_of_a_session() -> None:
    state = RolloutState()
    assert state.feed(META, 0) is None and state.feed(TURN, 0) is None
    assert (state.session, state.cwd, state.model) == (SESSION, "/private/tmp/proj", "gpt-5-codex")
    early = state.feed(NO_INFO, 0)
    assert early is not None and early.tokens_in is None and early.session == SESSION
    assert early.pools == [
        {
            "name": "codex primary",
            "used": 7.0,
            "limit": 100,
            "window": "5h",
            "resets_at": 1763483205,
        },
        {
            "name": "codex secondary",
            "used": 77.0,
            "limit": 100,
            "window": "7d",
            "resets_at": 1763606387,
        },
    ]
    counted = state.feed(token_count(91.0, 12000, 800, 1_900_000_000), 0)
    assert counted is not None and counted.model == "gpt-5-codex"
    assert (counted.tokens_in, counted.tokens_out) == (12000, 800)
    # Lines it does not know, torn lines and other events are no error.
    for line in ("", "{", "[]", '{"type":"event_msg","payload":{"type":"agent_message"}}'):
        assert state.feed(line, 0) is None


def test_an_older_codex_gives_resets_in_seconds() -> None:
    event = RolloutState().feed(OLDER, 0)
    assert event is not None and event.model == "codex" and event.session is None
    written = event.written_at  # 2025-09-27T15:27:20Z: the reset counts from the line's time
    primary, secondary = event.pools
    assert primary["resets_at"] == written + 17941 and primary["window"] == "299m"
    assert secondary["used"] == 22.0 and secondary["resets_at"] == written + 322367


@pytest.mark.parametrize(
    ("minutes", "label"),
    [(300, "5h"), (10080, "7d"), (1440, "1d"), (90, "90m"), (0, None), ("300", None)],
)
def test_window_labels(minutes: Any, label: str | None) -> None:
    assert window_label(minutes) == label


def test_rate_limits_absent_or_odd() -> None:
    assert rate_limit_pools(None, 0) == []
    assert rate_limit_pools({"primary": {"used_percent": "7"}}, 0) == []
    [pool] = rate_limit_pools({"secondary": {"used_percent": 140}}, 0)
    assert pool == {"name": "codex secondary", "used": 100.0, "limit": 100}


def test_sessions_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CODEX_HOME", str(tmp_path))
    assert sessions_dir() == tmp_path / "sessions"
    assert sessions_dir("/x") == Path("/x")
    monkeypatch.delenv("CODEX_HOME")
    assert sessions_dir() == Path.home() / ".codex" / "sessions"


def test_tailing_whole_lines_only_and_a_replaced_file(tmp_path: Path) -> None:
    path = tmp_path / "rollout-1.jsonl"
    path.write_text(f"{META}\n{TURN}\n{NO_INFO}\n{token_count(10, 100, 10, 1_900_000_000)}\n")
    tail = RolloutTail(path)
    [first] = tail.read(0)  # the first read: only the latest event
    assert first.tokens_in == 100
    line = token_count(20, 200, 20, 1_900_000_000)
    with path.open("a") as handle:
        handle.write(line[:40])  # a line being written
    assert tail.read(0) == []
    with path.open("a") as handle:
        handle.write(line[40:] + "\n" + token_count(30, 300, 30, 1_900_000_000) + "\n")
    assert [event.tokens_in for event in tail.read(0)] == [200, 300]
    replacement = tmp_path / "new"
    replacement.write_text(f"{META}\n{token_count(5, 5, 5, 1_900_000_000)}\n")
    os.replace(replacement, path)  # another inode: from its start again
    [again] = tail.read(0)
    assert again.tokens_in == 5 and again.session == SESSION


def test_old_files_wait_until_they_change(tmp_path: Path) -> None:
    day = tmp_path / "2025" / "01" / "02"
    day.mkdir(parents=True)
    old = day / "rollout-old.jsonl"
    old.write_text(f"{META}\n{token_count(50, 1, 1, 1_900_000_000)}\n")
    os.utime(old, (1_700_000_000, 1_700_000_000))
    files = SessionFiles(tmp_path)
    files.rescan(1_800_000_000)
    assert files.poll(1_800_000_000) == []
    with old.open("a") as handle:
        handle.write(token_count(60, 2, 2, 1_900_000_000) + "\n")
    files.rescan(1_800_000_000)
    [event] = files.poll(1_800_000_000)
    assert event.pools[0]["used"] == 60.0 and event.session == SESSION


async def test_a_codex_session_at_91_percent(
    settings: Settings, start_controller: Any, workdir: Path
) -> None:
    ctl: Controller = await start_controller()
    crossed: list[QuotaCrossed] = []
    ctl.services.bus.subscribe(QuotaCrossed, crossed.append)
    day = workdir / "sessions" / "2026" / "01" / "10"
    day.mkdir(parents=True)
    rollout = day / f"rollout-2026-01-10T12-00-00-{SESSION}.jsonl"
    rollout.write_text(f"{META}\n{TURN}\n{token_count(40.0, 1000, 100, 1_900_000_000)}\n")
    client = MonitorClient(settings.monitoring.socket_path)
    stop = asyncio.Event()
    watcher = asyncio.create_task(
        watch_codex(client, "codex", workdir / "sessions", poll=0.05, rescan=0.05, stop=stop)
    )
    try:
        pools = ctl.services.quotas.pools.pools
        primary = await wait_for(lambda: pools.get("codex primary"))
        assert primary.pct_left == pytest.approx(60.0) and primary.window == "5h"
        assert primary.reported_by == "codex" and primary.resets_at == 1_900_000_000
        assert pools["codex secondary"].window == "7d"
        assert ctl.services.fleet.bots["codex"].status == "online"
        with rollout.open("a") as handle:
            handle.write(token_count(91.0, 5000, 400, 1_900_000_000) + "\n")
        await wait_for(lambda: crossed)
        running = ctl.services.usage_totals
        await wait_for(lambda: getattr(running.last("codex", SESSION), "tokens_in", 0) == 5000)
    finally:
        stop.set()
        await asyncio.wait_for(watcher, 10)
        await client.close()
    assert [(c.name, c.severity) for c in crossed] == [("codex primary", Severity.CRITICAL)]
    await ctl.store.flush()
    rows = query(
        settings.monitoring.database_path,
        "SELECT model, tokens_in, tokens_out FROM llm_usage WHERE channel = 'codex' ORDER BY id",
    )
    assert rows == [("gpt-5-codex", 1000, 100), ("gpt-5-codex", 4000, 300)]


async def test_the_command_needs_a_sessions_folder(workdir: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chatops.cli",
        "watch",
        "codex",
        "--sessions",
        str(workdir / "none"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "CHATOPS_MONITORING__SOCKET_PATH": str(workdir / "m.sock")},
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1 and b"no Codex sessions folder" in err
