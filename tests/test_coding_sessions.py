"""A Claude Code session as a fleet member, with nothing but its hooks: the real hook command,
run through a shell by a stand-in session process (``tests/bots/fake_claude.py``), against a
real controller; the events are the recorded payloads in ``tests/fixtures/coding_agents``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from chatops.alerts.quotas import QUOTA
from chatops.client.blocking import MonitorError, request_json
from chatops.client.sessions import session_body
from chatops.composition.controller import Controller
from chatops.presentation.fleet_alerts import DOWN
from chatops.records.alerts import Severity
from chatops.records.fleet import FleetEvent, is_session
from chatops.services.quotas.events import QuotaCleared, QuotaCrossed
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
        statusline = [*command[:-1], "statusline", "claude-code"]
        env["FAKE_CLAUDE_STATUSLINE"] = " ".join(shlex.quote(word) for word in statusline)
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
        return await self.send(fixture(name, cwd=str(self.project), **changes))

    async def status(self, five_hour: float, five_resets: float, week_resets: float) -> str:
        """Redraw the status line (``claude_statusline.json`` in this session's project, at
        ``five_hour`` % of the 5-hour window); the line it printed."""
        where = str(self.project)
        windows = {
            "five_hour": {"used_percentage": five_hour, "resets_at": five_resets},
            "seven_day": {"used_percentage": 38.5, "resets_at": week_resets},
        }
        event = fixture(
            "claude_statusline.json",
            hook_event_name="Status",
            cwd=where,
            workspace={"current_dir": where, "project_dir": where},
            rate_limits=windows,
        )
        answer = await self.send(event)
        return str(answer["out"])

    async def send(self, event: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(event).encode() + b"\n")
        self.proc.stdin.flush()
        line = await asyncio.wait_for(asyncio.to_thread(self.proc.stdout.readline), 60)
        answer: dict[str, Any] = json.loads(line)
        assert answer["rc"] == 0, answer
        return answer


class Shifted:
    """The controller's clock: the wall clock, moved on by ``offset`` seconds."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def clock() -> Shifted:
    return Shifted()


@pytest.fixture
async def world(
    workdir: Path, start_controller: Callable[..., Any], clock: Shifted
) -> AsyncIterator[tuple[Controller, Callable[..., Session]]]:
    settings = make_settings(workdir, reap_interval=3600)
    ctl: Controller = await start_controller(settings, clock=clock)
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
    assert ctl.services.fleet.silence_deadline("webapp") is None

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


async def test_a_rate_limit_exhausts_the_plan_window_until_its_reset(
    world: tuple[Controller, Callable[..., Session]], clock: Shifted
) -> None:
    """StopFailure ``rate_limit`` gives no reset time; the session's status line did: its
    fullest window (the 5-hour one, at 72 %) is at 0 % left until that reset, one critical
    alert, and a redraw of the same window meanwhile does not undo it (the provider said no)."""
    ctl, new_session = world
    crossed: list[QuotaCrossed] = []
    cleared: list[QuotaCleared] = []
    ctl.services.bus.subscribe(QuotaCrossed, crossed.append)
    ctl.services.bus.subscribe(QuotaCleared, cleared.append)
    five, week = int(time.time()) + 3600, int(time.time()) + 3 * 86400
    session = new_session("webapp")
    await session.hook("claude_session_start.json")
    assert (await session.status(72, five, week)).endswith("5h 28% left · 7d 62% left\n")
    pools = ctl.services.quotas.pools.pools
    pool = await wait_for(lambda: pools.get("claude 5h"))
    await wait_for(lambda: pools.get("claude 7d"))
    assert pool.reported_by == "webapp" and pool.pct_left == pytest.approx(28.0)
    assert [(c.name, c.severity) for c in crossed] == [("claude 5h", Severity.WARNING)]

    await session.hook("claude_stop_failure_rate_limit.json")
    await wait_for(lambda: pool.pct_left == 0.0)
    assert pool.resets_at == five and pool.held_until == five
    assert pools["claude 7d"].pct_left == pytest.approx(61.5)  # the week was not the limit
    [(name, state, severity, detail)] = [
        (c.name, c.state, c.severity, c.detail) for c in crossed[1:]
    ]
    assert (name, state, severity) == ("claude 5h", "exhausted", Severity.CRITICAL)
    assert detail.startswith("0% left of pool claude 5h") and "rate limit" in detail
    incident = ctl.services.alerts.incidents[("claude 5h", QUOTA)]
    assert incident.severity == Severity.CRITICAL and incident.state == "exhausted"
    agent = ctl.services.agents.agents["webapp"]
    assert agent.status == "error" and agent.error_message is not None
    assert agent.error_message.startswith("rate_limit")

    # The line redrawn with the last answer's figures, the same window: still exhausted.
    seen = pool.updated_at
    await session.status(72, five, week)
    await wait_for(lambda: pool.updated_at > seen)
    assert pool.pct_left == 0.0 and pool.resets_at == five
    # Refused again: no second alert.
    await session.hook("claude_stop_failure_rate_limit.json")
    assert len(crossed) == 2 and cleared == []

    # Past the reset, the next redraw renews the pool (the existing reset rule).
    clock.offset = five - time.time() + 60
    seen = pool.updated_at
    await session.status(3, five + 5 * 3600, week)
    await wait_for(lambda: pool.updated_at > seen)
    assert pool.pct_left == pytest.approx(97.0) and pool.held_until is None
    assert [(c.name, c.why) for c in cleared] == [("claude 5h", "reset, credits renewed")]
    assert ("claude 5h", QUOTA) not in ctl.services.alerts.incidents


async def test_other_failures_and_other_sessions_leave_the_pools(
    world: tuple[Controller, Callable[..., Session]],
) -> None:
    """Another error is no plan's refusal; a rate limit of a session with no status line (an
    API key, say) says nothing of the plan's windows."""
    ctl, new_session = world
    crossed: list[QuotaCrossed] = []
    ctl.services.bus.subscribe(QuotaCrossed, crossed.append)
    five, week = int(time.time()) + 3600, int(time.time()) + 3 * 86400
    session = new_session("webapp")
    await session.hook("claude_session_start.json")
    await session.status(72, five, week)
    pools = ctl.services.quotas.pools.pools
    pool = await wait_for(lambda: pools.get("claude 5h"))
    await wait_for(lambda: pool.reported_by == "webapp")

    await session.hook("claude_stop_failure_rate_limit.json", error="server_error")
    agents = ctl.services.agents.agents
    await wait_for(lambda: agents["webapp"].status == "error")
    assert agents["webapp"].error_message is not None
    assert agents["webapp"].error_message.startswith("server_error")
    other = new_session("webapp", "--agent", "api-key")
    await other.hook("claude_stop_failure_rate_limit.json")
    await wait_for(lambda: "api-key" in agents and agents["api-key"].status == "error")
    assert pool.pct_left == pytest.approx(28.0) and pool.held_until is None
    assert pools["claude 7d"].pct_left == pytest.approx(61.5)
    assert [(c.name, c.severity) for c in crossed] == [("claude 5h", Severity.WARNING)]


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
    # The running controller's policy said it, not the hook's local stand-in.
    assert "not running" not in denied["hookSpecificOutput"]["permissionDecisionReason"]
    assert await ask("codex_pre_tool_use.json", "ls -la") is None
    # Too large for the controller to take: judged here, and its deny stands.
    padded = await ask("codex_pre_tool_use.json", "rm -rf ~ #" + "x" * 70_000)
    assert padded is not None
    assert padded["hookSpecificOutput"]["permissionDecision"] == "deny"
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


def test_a_wrapper_script_is_not_taken_for_the_session(workdir: Path) -> None:
    """A hook run through a ``#!/bin/sh`` script of the user's: the script is named after
    itself, but the kernel runs a shell, so the session is the process above it."""
    wrapper = workdir / "run-hook"
    wrapper.write_text('#!/bin/sh\n"$@"\n')
    wrapper.chmod(0o700)
    probe = "from chatops.client.sessions import session_process; print(session_process())"
    done = subprocess.run(
        [str(wrapper), sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert int(done.stdout) == os.getpid()


async def test_a_hook_names_its_own_session_and_no_other_ancestor(
    world: tuple[Controller, Callable[..., Session]],
) -> None:
    """A session is not a claim on any ancestor: a process naming this test's parent (a
    terminal, a multiplexer, the shell that started the controller) or init is refused; it may
    name its session (here, this test process, the first ancestor past its shell)."""
    ctl, _ = world
    socket_path = str(ctl.settings.monitoring.socket_path)
    probe = (
        "import sys; from chatops.client.blocking import MonitorError, request_json\n"
        "from chatops.client.sessions import session_body\n"
        "try:\n"
        "    request_json(sys.argv[1], session_body('grab', int(sys.argv[2]), 'start', 'codex'))\n"
        "    print('ok')\n"
        "except MonitorError as exc:\n"
        "    print(exc.code, exc)\n"
    )

    def claim(pid: int) -> str:
        command = f'{sys.executable} -c "$PROBE" {socket_path} {pid}'
        env = {**os.environ, "PROBE": probe}
        done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, env=env)
        return done.stdout.strip()

    for beyond in (os.getppid(), 1):
        answer = await asyncio.to_thread(claim, beyond)
        assert answer.startswith("permission_denied") and "not the session" in answer, answer
    assert "grab" not in ctl.services.fleet.bots
    assert await asyncio.to_thread(claim, os.getpid()) == "ok"
    assert ctl.services.fleet.bots["grab"].pid == os.getpid()
    # Registered for its process alone: no signal is ever sent to it by a restart.
    assert not ctl.services.fleet.ownership.vouched("grab")


async def test_a_codex_session_that_exits_ends_without_a_down_alert(
    world: tuple[Controller, Callable[..., Session]], workdir: Path
) -> None:
    """Codex has no SessionEnd hook: its process's exit is its end, not a death."""
    ctl, _ = world
    project = workdir / "home" / "api"
    project.mkdir(parents=True)
    codex = Session(workdir / "chatops.yaml", project, workdir / "home", hook="codex")
    await codex.hook("codex_pre_tool_use.json", tool_input={"command": "ls"})
    assert ctl.services.fleet.bots["api"].status == "online"
    codex.proc.kill()
    await wait_for(lambda: ctl.services.fleet.bots["api"].status == "offline", timeout=10)
    assert ("api", DOWN) not in ctl.services.alerts.incidents
