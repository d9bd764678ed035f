"""A Claude Code session as a fleet member, with nothing but its hooks: the real hook command,
run through a shell by a stand-in session process (``tests/bots/fake_claude.py``), against a
real controller; the events are the recorded payloads in ``tests/fixtures/coding_agents``."""

from __future__ import annotations

import asyncio
import contextlib
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

    def __init__(
        self, config: Path, project: Path, home: Path, *hook_args: str, hook: str = "claude-code"
    ) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATOPS_", "XDG_"))}
        env["HOME"] = str(home)
        command = [sys.executable, "-m", "chatops.cli", "--config", str(config), "hook"]
        self.project = project
        self.proc = subprocess.Popen(
            [sys.executable, str(BOTS / "fake_claude.py"), *command, hook, *hook_args],
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


async def test_codex_hooks_answer_in_codexs_schema(
    world: tuple[Controller, Callable[..., Session]], workdir: Path
) -> None:
    ctl, _ = world
    config = workdir / "chatops.yaml"
    project = workdir / "home" / "api"
    project.mkdir(parents=True)
    codex = Session(config, project, workdir / "home", hook="codex")

    async def ask(name: str, command: str) -> dict[str, Any] | None:
        answer = await codex.hook(name, tool_input={"command": command})
        return json.loads(answer["out"]) if answer["out"].strip() else None

    # PreToolUse: only a deny can be said to Codex; anything else is no verdict.
    denied = await ask("codex_pre_tool_use.json", "rm -rf /")
    assert denied is not None
    assert denied["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert await ask("codex_pre_tool_use.json", "ls -la") is None
    bot = ctl.services.fleet.bots["api"]
    assert bot.pid == codex.pid and bot.features["session"] == "codex"

    # PermissionRequest: the round trip; an allow has no updatedInput (Codex refuses one).
    push = asyncio.create_task(ask("codex_permission_request.json", "git push origin main"))
    await wait_for(lambda: ctl.services.approvals.pending(), timeout=30)
    [record] = ctl.services.approvals.pending()
    assert record.agent == "api"
    ctl.services.approvals.decide(record.id, True, by="ops", identity="1", via="discord")
    assert await push == {
        "hookSpecificOutput": {
            "hookEventName": "PermissionRequest",
            "decision": {"behavior": "allow"},
        }
    }
    refused = await ask("codex_permission_request.json", "rm -rf /")
    assert refused is not None
    decision = refused["hookSpecificOutput"]["decision"]
    assert decision["behavior"] == "deny" and decision["message"].startswith("chatops:")


async def test_a_garbled_controller_never_gets_an_allow(workdir: Path) -> None:
    """Something that is not chatops answers on the socket: the permission hooks deny or stay
    silent (the agent's own prompt), never allow."""
    import socket
    import threading

    path = workdir / "garbled.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(8)

    replies = [b"\x00\xff not JSON at all\n", b'{"id":1,"ok":true,"decision":"perhaps"}\n']

    def serve() -> None:
        turn = 0
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn, contextlib.suppress(OSError):
                conn.recv(65536)
                conn.sendall(replies[turn % 2])
                turn += 1

    threading.Thread(target=serve, daemon=True).start()
    config = workdir / "garbled.yaml"
    config.write_text(yaml.safe_dump({"monitoring": {"socket_path": str(path)}}))
    project = workdir / "home" / "webapp"
    project.mkdir(parents=True)
    try:
        for which, name in (
            ("claude-code", "claude_permission_request_bash.json"),
            ("claude-code", "claude_pre_tool_use_bash.json"),
            ("codex", "codex_permission_request.json"),
        ) * 2:  # each meets both kinds of garbage, whatever the order of its requests
            session = Session(config, project, workdir / "home", hook=which)
            answer = await session.hook(name, tool_input={"command": "git push origin main"})
            kill_quietly(session.proc)  # type: ignore[arg-type]
            out = answer["out"]
            assert "allow" not in out, (which, name, out)
    finally:
        server.close()
