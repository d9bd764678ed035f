"""Approvals without Discord: ``chatops approvals`` runs as a real process against a controller
in this test's loop, and a webhook announces each pending request. (The Claude Code hook has
its own tests, in ``test_hook.py``.)"""

from __future__ import annotations

import asyncio
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml
from pydantic import SecretStr

from chatops.client import MonitorClient
from chatops.composition.controller import Controller
from chatops.config import Settings
from chatops.config.approvals import SocketDecisions
from tests.conftest import kill_quietly, make_settings, spawn_bot, wait_for
from tests.webhook_receiver import WebhookReceiver

PUSH = {"command": "git push origin main"}


def config_file(workdir: Path, settings: Settings) -> Path:
    path = workdir / "cli.yaml"
    monitoring = {
        "socket_path": str(settings.monitoring.socket_path),
        "database_path": str(settings.monitoring.database_path),
    }
    path.write_text(yaml.safe_dump({"monitoring": monitoring}))
    return path


async def run_chatops(
    config: Path, *args: str, stdin: bytes = b"", timeout: float = 60
) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chatops.cli",
        "--config",
        str(config),
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


CHATOPS = str(Path(sys.executable).with_name("chatops"))
"""The venv's ``chatops``, as an agent's shell or an operator's would run it."""

TAKE_TERMINAL = (
    "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)
"""Run in a new session with a pty on stdin: make it the controlling terminal, then exec."""


async def in_terminal(*argv: str, timeout: float = 60) -> tuple[int, str]:
    """Run ``argv`` as an operator's shell does: a session of its own whose controlling terminal
    is a fresh pty (what a terminal emulator or sshd gives a login). Its exit code and output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS_")}
    master, slave = os.openpty()
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            TAKE_TERMINAL,
            *argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            env=env,
        )
    finally:
        os.close(slave)
    try:
        output = await asyncio.to_thread(_drain, master, time.monotonic() + timeout)
        code = await asyncio.wait_for(proc.wait(), timeout)
    finally:
        os.close(master)
    return code, output.decode(errors="replace")


def _drain(master: int, deadline: float) -> bytes:
    """The pty's output until its last slave end closes (EIO), or the deadline."""
    chunks: list[bytes] = []
    while time.monotonic() < deadline:
        if select.select([master], [], [], 0.1)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the process and its children are gone
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


class Agent:
    """``bots/approval_agent.py`` in a session of its own, as an agent started by a supervisor,
    a service manager or another terminal is: it asks, and runs shell commands meanwhile."""

    def __init__(self, settings: Settings, name: str = "coder") -> None:
        socket_path = str(settings.monitoring.socket_path)
        self.proc = spawn_bot(
            "approval_agent.py", socket_path, name, stdin=subprocess.PIPE, start_new_session=True
        )

    async def line(self, timeout: float = 30) -> dict[str, Any]:
        assert self.proc.stdout is not None
        raw = await asyncio.wait_for(asyncio.to_thread(self.proc.stdout.readline), timeout)
        assert raw, self.proc.stderr.read() if self.proc.stderr else b""
        reply: dict[str, Any] = json.loads(raw)
        return reply

    def send(self, **line: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(line).encode() + b"\n")
        self.proc.stdin.flush()

    async def shell(self, command: str, out: Path, code: int = 0) -> str:
        """Run ``command`` (which sends its CLI's output to ``out``) as the agent's tool call
        would; the CLI's answer, once it has come (a detached CLI outlives the command, whose
        exit code is ``code``)."""
        self.send(shell=command)
        ran = await self.line()
        assert ran == {"shell": command, "code": code}
        await wait_for(lambda: out.exists() and out.read_text().endswith("\n"), timeout=30)
        return out.read_text()

    def close(self) -> None:
        kill_quietly(self.proc)


async def pending_id(ctl: Controller) -> int:
    await wait_for(lambda: ctl.services.approvals.pending(), timeout=30)
    [record] = ctl.services.approvals.pending()
    return record.id


async def test_a_pending_request_is_announced_to_the_webhook_with_its_id(
    workdir: Path, start_controller: Any
) -> None:
    receiver = await WebhookReceiver().start()
    try:
        settings = make_settings(workdir)
        settings.alerts.webhook_urls = [SecretStr(receiver.url)]
        async with agent_asking(workdir, settings, start_controller) as (_, _, request_id):
            await wait_for(lambda: receiver.delivered(), timeout=20)
            [announced] = receiver.delivered()
            assert announced["kind"] == "approval_requested" and announced["subject"] == "coder"
            assert announced["request"] == request_id
    finally:
        await receiver.stop()


async def test_chatops_approvals_list_shows_the_pending_request(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir)
    async with agent_asking(workdir, settings, start_controller) as (_, _, request_id):
        config = workdir / "cli.yaml"
        code, out, _ = await run_chatops(config, "approvals", "list")
        assert code == 0 and f"#{request_id}  coder  terminal_command" in out
        assert "git push origin main" in out
        code, out, _ = await run_chatops(config, "approvals", "list", "--json")
        assert [item["id"] for item in json.loads(out)] == [request_id]


async def test_chatops_approvals_decides_from_a_shell(workdir: Path, start_controller: Any) -> None:
    settings = make_settings(workdir)
    async with agent_asking(workdir, settings, start_controller) as (_, agent, request_id):
        # The operator, at a terminal of their own (socket_decisions: interactive).
        code, out = await in_terminal(
            CHATOPS, "--config", str(workdir / "cli.yaml"), "approvals", "deny", str(request_id),
            "--reason", "not on main",
        )  # fmt: skip
        assert code == 0 and "denied" in out, out
        answer = await agent.line()
        assert answer["decision"] == "deny" and answer["reason"] == "not on main"
        assert answer["via"] == "cli"


async def test_a_decided_or_unknown_request_cannot_be_decided(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir)
    async with agent_asking(workdir, settings, start_controller) as (ctl, agent, request_id):
        config = workdir / "cli.yaml"
        ctl.services.approvals.decide(
            request_id, False, by="alice", identity="alice", via="cli", reason="not on main"
        )
        assert (await agent.line())["decision"] == "deny"
        code, _, err = await run_chatops(config, "approvals", "approve", str(request_id))
        assert code == 1 and "already denied" in err
        code, _, err = await run_chatops(config, "approvals", "approve", "999")
        assert code == 1 and "no open approval request #999" in err


async def test_an_agent_cannot_approve_its_own_request(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir)
    config = config_file(workdir, settings)
    ctl: Controller = await start_controller(settings)
    # This test process asks; the CLI it starts is its descendant: refused.
    async with MonitorClient(settings.monitoring.socket_path) as agent:
        call = asyncio.create_task(agent.request_approval("terminal_command", PUSH, agent="me"))
        await wait_for(lambda: ctl.services.approvals.pending(), timeout=30)
        [record] = ctl.services.approvals.pending()
        code, _, err = await run_chatops(config, "approvals", "approve", str(record.id))
        assert code == 1 and "may not decide its own request" in err
        assert record.pending and not call.done()
        call.cancel()


@asynccontextmanager
async def agent_asking(
    workdir: Path, settings: Settings, start_controller: Any
) -> AsyncIterator[tuple[Controller, Agent, int]]:
    """A controller on ``settings`` (with ``cli.yaml`` for the CLI), and a real agent in a
    session of its own whose approval request is pending; the agent is closed after."""
    config_file(workdir, settings)
    ctl: Controller = await start_controller(settings)
    agent = Agent(settings)
    try:
        assert (await agent.line())["ready"]
        agent.send(type="terminal_command", data=PUSH)
        yield ctl, agent, await pending_id(ctl)
    finally:
        agent.close()


async def test_an_agent_cannot_approve_itself_by_detaching(
    workdir: Path, start_controller: Any
) -> None:
    """``interactive`` (the default): the agent's double fork (out of its tree, still in its
    session) and ``setsid -f`` (a session of its own, but no terminal) are refused; the
    operator at another terminal decides."""
    settings = make_settings(workdir)
    async with agent_asking(workdir, settings, start_controller) as (ctl, agent, request_id):
        config = workdir / "cli.yaml"
        approve = f"{CHATOPS} --config {config} approvals approve {request_id}"

        forked = await agent.shell(
            f'bash -c "( {approve} >{workdir}/forked 2>&1 & )"', workdir / "forked"
        )
        assert forked.startswith("chatops: refused:") and "agent's session" in forked, forked
        detached = await agent.shell(
            f"setsid -f {approve} >{workdir}/detached 2>&1", workdir / "detached"
        )
        assert detached.startswith("chatops: refused:"), detached
        assert "no controlling terminal" in detached
        assert ctl.services.approvals.records[request_id].pending

        code, out = await in_terminal(
            CHATOPS, "--config", str(config), "approvals", "approve", str(request_id)
        )
        assert code == 0 and f"request #{request_id}: approved by cli" in out, out
        answer = await agent.line()
        assert answer["decision"] == "approve" and answer["via"] == "cli"


async def test_any_admits_automation_but_never_from_the_agent_s_session(
    workdir: Path, start_controller: Any
) -> None:
    """``any``: no terminal needed (a script of the operator's decides), but the agent's child
    and its double fork (in its tree, in its session) are still refused."""
    settings = make_settings(workdir)
    settings.approvals.socket_decisions = SocketDecisions.ANY
    async with agent_asking(workdir, settings, start_controller) as (ctl, agent, request_id):
        config = workdir / "cli.yaml"
        approve = f"{CHATOPS} --config {config} approvals approve {request_id}"

        child = await agent.shell(f"{approve} >{workdir}/child 2>&1", workdir / "child", 1)
        assert "may not decide its own request" in child, child
        forked = await agent.shell(
            f'bash -c "( {approve} >{workdir}/forked 2>&1 & )"', workdir / "forked"
        )
        assert forked.startswith("chatops: refused:") and "agent's session" in forked, forked
        assert ctl.services.approvals.records[request_id].pending

        # This test's process: no terminal, outside the agent's session, group and tree.
        code, out, err = await run_chatops(config, "approvals", "approve", str(request_id))
        assert code == 0 and f"request #{request_id}: approved" in out, err
        assert (await agent.line())["decision"] == "approve"


async def test_grant_and_revoke_from_a_shell(workdir: Path, start_controller: Any) -> None:
    """``grant`` is the prompt's *Approve for this agent*, through the same narrow door as a
    decision: the agent cannot grant itself, the operator at a terminal can, and the agent's
    next request of that type passes; ``revoke`` ends it; the service's rules refuse a grant
    where a rule wants two approvers, and a grant that is not active."""
    settings = make_settings(workdir)
    async with agent_asking(workdir, settings, start_controller) as (ctl, agent, request_id):
        service = ctl.services.approvals
        config = workdir / "cli.yaml"
        own = await agent.shell(
            f"{CHATOPS} --config {config} approvals grant {request_id} --always "
            f">{workdir}/own 2>&1",
            workdir / "own",
            1,
        )
        assert "may not decide its own request" in own, own
        assert service.records[request_id].pending and service.grants.active() == []

        code, out = await in_terminal(
            CHATOPS, "--config", str(config), "approvals", "grant", str(request_id)
        )
        assert code == 0 and f"request #{request_id}: approved by cli" in out, out
        [grant] = service.grants.active()
        assert (
            f"Grant #{grant.id}: coder's terminal_command requests pass without asking for " in out
        )
        assert (await agent.line())["decision"] == "approve"
        agent.send(type="terminal_command", data=PUSH)
        assert (await agent.line())["via"] == "grant"

        code, out, err = await run_chatops(config, "approvals", "revoke", str(grant.id))
        assert code == 0, err
        assert f"Grant #{grant.id} removed: coder's terminal_command requests ask again." in out
        assert service.grants.active() == []
        code, _, err = await run_chatops(config, "approvals", "revoke", str(grant.id))
        assert code == 1 and f"No active grant #{grant.id}" in err

        service.controls.update_rule("terminal_command", {"approvals_required": 2}, by="test")
        agent.send(type="terminal_command", data=PUSH)
        await wait_for(lambda: len(service.pending()) == 1, timeout=30)
        [two] = service.pending()
        code, _, err = await run_chatops(config, "approvals", "grant", str(two.id))
        assert code == 1 and "needs 2 approvers" in err, err
        assert two.pending and two.approvers == [] and service.grants.active() == []


async def test_doctor_warns_when_agents_share_the_operator_s_uid(
    workdir: Path, start_controller: Any
) -> None:
    """Same uid is one trust domain: ``chatops doctor`` says so while decisions are open."""
    settings = make_settings(workdir)
    config = config_file(workdir, settings)
    code, out, _ = await run_chatops(config, "doctor")  # no controller: the config tells
    assert code == 0 and "WARN  approvals" in out and "no socket_group" in out, out
    ctl: Controller = await start_controller(settings)
    code, out, _ = await run_chatops(config, "doctor")
    assert code == 0 and "ok    approvals" in out and "agents' uids: none yet" in out, out
    async with MonitorClient(settings.monitoring.socket_path) as agent:
        await agent.request_approval("file_write", {"file_path": "src/app.py"}, agent="coder")
    code, out, _ = await run_chatops(config, "doctor")
    assert code == 0 and "WARN  approvals" in out, out
    assert f"agents run under uid {os.geteuid()}" in out and "same uid is one trust domain" in out
    ctl.services.approvals.config.socket_decisions = SocketDecisions.OFF
    code, out, _ = await run_chatops(config, "doctor")
    assert "ok    approvals" in out and "Discord decides" in out, out
