"""A Claude Code session as a fleet member, with nothing but its hooks: the real hook command,
run through a shell by a stand-in session process (``tests/bots/fake_claude.py``), against a
real controller; the events are the recorded payloads in ``tests/fixtures/coding_agents``."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from chatops.client.blocking import MonitorError, request_json
from chatops.client.sessions import session_body
from chatops.composition.controller import Controller
from chatops.presentation.fleet_alerts import DOWN
from chatops.records.fleet import FleetEvent, is_session
from chatops.wire.protocol import decode
from tests.conftest import BOTS, kill_quietly, make_settings, wait_for

FIXTURES = Path(__file__).parent / "fixtures" / "coding_agents"


def fixture(name: str, **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    event.update(changes)
    return event


class Session:
    """A stand-in Claude Code process in ``project`` whose hooks are chatops's."""

    def __init__(self, config: Path, project: Path, home: Path, *hook_args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATOPS_", "XDG_"))}
        env["HOME"] = str(home)
        hook = [sys.executable, "-m", "chatops.cli", "--config", str(config), "hook"]
        self.project = project
        self.proc = subprocess.Popen(
            [sys.executable, str(BOTS / "fake_claude.py"), *hook, "claude-code", *hook_args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=project,
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == b"READY"

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def hook(self, name: str, **changes: Any) -> dict[str, Any]:
        """Run the hook on fixture ``name`` (its cwd this session's project); the hook's exit
        status and output."""
        event = fixture(name, cwd=str(self.project), **changes)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(event).encode() + b"\n")
        self.proc.stdin.flush()
        line = await asyncio.wait_for(asyncio.to_thread(self.proc.stdout.readline), 60)
        answer: dict[str, Any] = json.loads(line)
        assert answer["rc"] == 0, answer
        return answer


@pytest.fixture
async def world(
    workdir: Path, start_controller: Callable[..., Any]
) -> AsyncIterator[tuple[Controller, Callable[..., Session]]]:
    settings = make_settings(workdir, reap_interval=3600)
    ctl: Controller = await start_controller(settings)
    config = workdir / "chatops.yaml"
    monitoring = {
        "socket_path": str(settings.monitoring.socket_path),
        "database_path": str(settings.monitoring.database_path),
    }
    config.write_text(yaml.safe_dump({"monitoring": monitoring}))
    started: list[Session] = []

    def session(project: str = "webapp", *hook_args: str) -> Session:
        directory = workdir / "home" / project
        directory.mkdir(parents=True, exist_ok=True)
        started.append(Session(config, directory, workdir / "home", *hook_args))
        return started[-1]

    yield ctl, session
    for each in started:
        kill_quietly(each.proc)  # type: ignore[arg-type]


async def test_a_session_joins_at_start_and_its_death_is_a_down_alert(
    world: tuple[Controller, Callable[..., Session]],
) -> None:
    ctl, new_session = world
    downs: list[FleetEvent] = []
    ctl.services.bus.subscribe(
        FleetEvent, lambda e: downs.append(e) if e.new_status == "down" else None
    )
    session = new_session("webapp")
    answer = await session.hook("claude_session_start.json")
    assert answer["out"] == ""  # SessionStart is told, never answered
    bot = ctl.services.fleet.bots["webapp"]
    assert bot.pid == session.pid and bot.status == "online" and is_session(bot)
    agent = ctl.services.agents.agents["webapp"]
    assert agent.agent_type == "claude-code" and agent.session is not None
    assert agent.session.cwd == str(session.project)
    assert agent.session.session_id == fixture("claude_session_start.json")["session_id"]

    # What it is doing: the tool of its last hook (sent without waiting, so wait for it).
    await session.hook("claude_post_tool_use.json")
    tool = fixture("claude_post_tool_use.json")["tool_name"]
    await wait_for(lambda: ctl.services.agents.agents["webapp"].current_task == tool)

    # Silence is no sign of death for a session: no deadline is armed for it.
    assert ("reap", "webapp") not in ctl.services.fleet.timers

    # Killed without SessionEnd: the pid watch (the reap job is an hour away) says it at once.
    os.kill(session.pid, signal.SIGKILL)
    await wait_for(lambda: ("webapp", DOWN) in ctl.services.alerts.incidents, timeout=10)
    [down] = downs
    assert down.channel == "webapp" and down.detail == f"pid {session.pid} exited"


async def test_a_clean_session_end_raises_nothing(
    world: tuple[Controller, Callable[..., Session]],
) -> None:
    ctl, new_session = world
    session = new_session("webapp")
    await session.hook("claude_session_start.json")
    answer = await session.hook("claude_session_end.json")
    assert answer["out"] == ""
    bot = ctl.services.fleet.bots["webapp"]
    assert bot.status == "offline"
    session.proc.kill()
    session.proc.wait(10)
    ctl.services.fleet.reap()  # as the job would: nothing left to find
    assert ctl.services.fleet.bots["webapp"].status == "offline"
    assert ("webapp", DOWN) not in ctl.services.alerts.incidents


async def test_nobody_else_speaks_for_a_session(
    world: tuple[Controller, Callable[..., Session]], workdir: Path
) -> None:
    ctl, new_session = world
    session = new_session("webapp")
    await session.hook("claude_session_start.json")
    socket_path = ctl.settings.monitoring.socket_path
    # This test's process is no descendant of the session: it may not claim or end it.
    for event in ("activity", "end"):
        body = session_body("webapp", session.pid, event, "claude-code")
        with pytest.raises(MonitorError) as refused:
            await asyncio.to_thread(request_json, socket_path, body)
        assert refused.value.code in ("permission_denied", "not_found"), refused.value
    # Nor claim a process of its own under a live session's name.
    mine = session_body("webapp", os.getpid(), "start", "claude-code")
    with pytest.raises(MonitorError) as taken:
        await asyncio.to_thread(request_json, socket_path, mine)
    assert taken.value.code == "permission_denied" and "another live process" in str(taken.value)
    # A second session in the same project needs another name; with one, both are members.
    other = new_session("webapp")
    await other.hook("claude_session_start.json")
    assert ctl.services.fleet.bots["webapp"].pid == session.pid
    named = new_session("webapp", "--agent", "webapp-2")
    await named.hook("claude_session_start.json")
    assert ctl.services.fleet.bots["webapp-2"].pid == named.pid
    assert ctl.services.fleet.bots["webapp"].status == "online"


async def test_permission_requests_get_the_approval_round_trip(
    world: tuple[Controller, Callable[..., Session]],
) -> None:
    ctl, new_session = world
    session = new_session("webapp")
    # The policy denies outright: Claude Code's PermissionRequest deny, with the reason.
    denied = await session.hook(
        "claude_permission_request_bash.json", tool_input={"command": "rm -rf /"}
    )
    decision = json.loads(denied["out"])["hookSpecificOutput"]
    assert decision["hookEventName"] == "PermissionRequest"
    assert (
        decision["decision"]["behavior"] == "deny" and "chatops" in decision["decision"]["message"]
    )
    # A human's call: the request waits for an approver, then the hook allows.
    push = asyncio.create_task(
        session.hook(
            "claude_permission_request_bash.json", tool_input={"command": "git push origin main"}
        )
    )
    await wait_for(lambda: ctl.services.approvals.pending(), timeout=30)
    [record] = ctl.services.approvals.pending()
    assert record.agent == "webapp" and record.summary.startswith("git push origin main")
    ctl.services.approvals.decide(record.id, True, by="ops", identity="1", via="discord")
    allowed = json.loads((await push)["out"])["hookSpecificOutput"]
    assert allowed == {"hookEventName": "PermissionRequest", "decision": {"behavior": "allow"}}


def test_the_hooks_bodies_are_the_protocols() -> None:
    """The hook builds ``agent_session`` as plain JSON (no protocol import on its hot path):
    every body it makes from the recorded events decodes as the protocol's message."""
    from chatops.cli.hook_events import session_event

    for path in sorted(FIXTURES.glob("claude_*.json")):
        event = json.loads(path.read_text())
        if event.get("hook_event_name") is None:
            continue  # the status line's input, not a hook event
        body = session_event(None, event, 4242)
        assert body is not None, path.name
        message = decode(json.dumps(body).encode())
        assert type(message).__name__ == "AgentSession" and message.pid == 4242, path.name
