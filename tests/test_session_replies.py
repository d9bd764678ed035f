"""A coding-agent session that waits or finishes is told to its operator, who answers it.

Real parts: a controller, ``chatops hook claude-code`` as a real process run by a stand-in for
the session (``tests/bots/coding_session.py``: a process of its own, in a session of its own,
as Claude Code is), the loopback fake Discord with the real discord.py bot, a webhook receiver,
and ``chatops agents reply`` from a shell."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from chatops.composition.controller import Controller
from chatops.config.approvals import SocketDecisions
from chatops.services.errors import NotFound
from tests.conftest import (
    BOTS,
    Running,
    automation_settings,
    fake_discord,
    start_bot,
    wait_for,
)
from tests.fake_discord import (
    ALERT_CHANNEL_ID,
    APPROVER_USER_ID,
    MEMBER_USER_ID,
    FakeDiscord,
)
from tests.test_hook import Machine
from tests.webhook_receiver import WebhookReceiver

FIXTURES = Path(__file__).parent / "fixtures" / "coding_agents"
WORDS = "Also run the linter, then open a PR. Token: ghp_abcdefghijklmnopqrstuvwxyz0123456789"
_jobs = itertools.count(1)


def fixture_event(name: str, machine: Machine, **fields: Any) -> dict[str, Any]:
    """A recorded event, as if it came from a session in the machine's project."""
    event: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    event.pop("transcript_path", None)
    return {**event, "cwd": str(machine.project), **fields}


class Session:
    """The stand-in session: its hooks run as its children, each returning (code, out)."""

    def __init__(self, machine: Machine, name: str) -> None:
        self.machine = machine
        self.name = name
        self.proc: asyncio.subprocess.Process | None = None
        self.pid = 0
        self._results: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> Session:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(BOTS / "coding_session.py"),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            start_new_session=True,
            env=self.machine.env(),
        )
        assert self.proc.stdout is not None
        ready = json.loads(await asyncio.wait_for(self.proc.stdout.readline(), 30))
        self.pid = ready["pid"]
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            result = json.loads(line)
            self._results[result["job"]].set_result(result)

    def hook(self, event: dict[str, Any], *hook_args: str) -> asyncio.Future[dict[str, Any]]:
        """Run the hook on ``event``; the future is its exit code, stdout and stderr."""
        assert self.proc is not None and self.proc.stdin is not None
        job = next(_jobs)
        self._results[job] = asyncio.get_running_loop().create_future()
        line = {
            "job": job,
            "args": ["hook", "claude-code", "--agent", self.name, *hook_args],
            "stdin": json.dumps(event),
            "cwd": str(self.machine.project),
            "env": self.machine.env(),
        }
        self.proc.stdin.write(json.dumps(line).encode() + b"\n")
        return self._results[job]

    async def run(self, event: dict[str, Any], *hook_args: str) -> dict[str, Any] | None:
        """Run the hook to its end: exit 0, and its answer (None: it printed nothing)."""
        result = await asyncio.wait_for(self.hook(event, *hook_args), 60)
        return answer_of(result)

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


def answer_of(result: dict[str, Any]) -> dict[str, Any] | None:
    assert result["code"] == 0, result
    out = result["out"].strip()
    if not out:
        return None
    answer: dict[str, Any] = json.loads(out)
    return answer


@pytest.fixture
async def sessions(workdir: Path) -> AsyncIterator[list[Session]]:
    """Every stand-in a test starts is stopped after it."""
    started: list[Session] = []
    yield started
    for session in started:
        await session.stop()


async def new_session(sessions: list[Session], machine: Machine, name: str = "coder") -> Session:
    session = await Session(machine, name).start()
    sessions.append(session)
    return session


def stop_event(machine: Machine, **fields: Any) -> dict[str, Any]:
    return fixture_event("claude_stop.json", machine, **fields)


async def shell_reply(settings_path: Path, name: str, text: str) -> tuple[int, str, str]:
    """``chatops agents reply`` from the test's own shell: apart from the session."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chatops.cli", "--config", str(settings_path),
        "agents", "reply", name, text,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


# -- Discord ----------------------------------------------------------------------------------


def alert_posts(fake: FakeDiscord, kind_title: str) -> list[dict[str, Any]]:
    """The alert channel's messages whose embed title ends with ``kind_title``."""
    return [
        m
        for m in fake.channel_posts(ALERT_CHANNEL_ID)
        if any(e.get("title", "").endswith(kind_title) for e in m.get("embeds", []))
    ]


def reply_button(message: dict[str, Any]) -> str:
    [custom_id] = [
        button["custom_id"]
        for row in message.get("components", [])
        for button in row["components"]
        if button.get("custom_id", "").startswith("chatops:reply:")
    ]
    assert len(custom_id) <= 100
    return str(custom_id)


@pytest.fixture
async def discord_room(workdir: Path) -> AsyncIterator[tuple[Running, WebhookReceiver]]:
    """The real bot on the fake, with approvers and a webhook receiver."""
    receiver = await WebhookReceiver().start()
    async with fake_discord(workdir) as (fake, settings):
        settings.approvals.approver_user_ids = [int(APPROVER_USER_ID)]
        settings.alerts.webhook_urls = [SecretStr(receiver.url)]
        bot, task = await start_bot(settings, fake)
        try:
            yield Running(fake, bot, settings), receiver
        finally:
            await bot.close()
            await asyncio.gather(task, return_exceptions=True)
            await receiver.stop()


async def test_a_waiting_session_is_told_once_and_answered_from_a_modal(
    discord_room: tuple[Running, WebhookReceiver], workdir: Path, sessions: list[Session]
) -> None:
    running, receiver = discord_room
    fake, replies = running.fake, running.bot.services.replies
    machine = Machine(workdir, running.settings)
    session = await new_session(sessions, machine)
    idle = fixture_event("claude_notification_idle.json", machine)
    assert await session.run(idle) is None
    await wait_for(lambda: alert_posts(fake, "coder is waiting"), timeout=20)
    assert await session.run(idle) is None  # the same notification again
    [waiting] = alert_posts(fake, "coder is waiting")
    assert "Claude is waiting for your input" in waiting["embeds"][0]["description"]
    reply_button(waiting)
    await wait_for(
        lambda: any(r.body.get("kind") == "agent_waiting" for r in receiver.received), timeout=20
    )

    # The session finishes its turn and waits for a reply.
    stopping = session.hook(stop_event(machine), "--wait-reply", "30")
    await wait_for(lambda: replies.waiters("coder") == 1, timeout=30)
    await wait_for(lambda: alert_posts(fake, "coder finished"), timeout=20)
    [finished] = alert_posts(fake, "coder finished")
    assert "refactored the retry loop" in finished["embeds"][0]["description"]
    # Everything the channel got came before the finished notice: the waiting is still one.
    assert len(alert_posts(fake, "coder is waiting")) == 1
    custom_id = reply_button(finished)

    # A stranger may neither open the modal nor submit it.
    refused = await running.click(finished, custom_id, user_id=MEMBER_USER_ID)
    assert refused["type"] == 4 and refused["data"]["flags"] == 64
    modal = await running.click(finished, custom_id, user_id=APPROVER_USER_ID)
    assert modal["type"] == 9
    label = modal["data"]["components"][0]["components"][0]["label"]
    stranger = await fake.submit_modal(
        modal["data"], {label: "rm -rf /"}, message=finished, user_id=MEMBER_USER_ID
    )
    answer = await fake.wait_callback(stranger)
    assert answer["type"] == 4 and answer["data"]["flags"] == 64
    assert "approvers" in answer["data"]["content"]
    assert replies.waiters("coder") == 1 and not stopping.done()

    submitted_at = time.monotonic()
    approver = await fake.submit_modal(
        modal["data"], {label: WORDS}, message=finished, user_id=APPROVER_USER_ID
    )
    result = await asyncio.wait_for(stopping, 30)
    took = time.monotonic() - submitted_at
    assert answer_of(result) == {"decision": "block", "reason": WORDS}  # unmasked: as typed
    assert took < 10, took  # generous; the hook is woken by the reply, not by a poll
    told = await fake.wait_callback(approver)
    assert "goes on with the reply" in told["data"]["content"]
    assert "ghp_" not in told["data"]["content"]


async def test_agent_reply_slash_command_is_for_approvers(
    discord_room: tuple[Running, WebhookReceiver], workdir: Path, sessions: list[Session]
) -> None:
    running, _ = discord_room
    machine = Machine(workdir, running.settings)
    session = await new_session(sessions, machine)
    assert await session.run(fixture_event("claude_session_start.json", machine)) is None
    options = [
        {"type": 3, "name": "name", "value": "coder"},
        {"type": 3, "name": "text", "value": "go on"},
    ]
    _, refused = await running.slash("agent reply", options, user_id=MEMBER_USER_ID)
    assert refused["data"]["flags"] == 64
    assert not running.bot.services.replies.kept("coder")
    _, told = await running.slash("agent reply", options, user_id=APPROVER_USER_ID)
    assert "kept until it next waits" in told["data"]["content"]
    answer = await session.run(stop_event(machine), "--wait-reply", "30")
    assert answer == {"decision": "block", "reason": "go on"}


# -- headless: the shell, the limits ------------------------------------------------------------


@pytest.fixture
async def headless(workdir: Path, start_controller: Any) -> tuple[Controller, Machine, Path]:
    settings = automation_settings(workdir)
    ctl: Controller = await start_controller(settings)
    machine = Machine(workdir, settings)
    return ctl, machine, machine.config


async def test_a_reply_from_a_shell_reaches_the_waiting_hook(
    headless: tuple[Controller, Machine, Path],
    sessions: list[Session],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    ctl, machine, config = headless
    session = await new_session(sessions, machine)
    stopping = session.hook(stop_event(machine), "--wait-reply", "30")
    await wait_for(lambda: ctl.services.replies.waiters("coder") == 1, timeout=30)
    code, out, err = await shell_reply(config, "coder", WORDS)
    assert code == 0 and "reply delivered" in out, err
    assert answer_of(await asyncio.wait_for(stopping, 30)) == {"decision": "block", "reason": WORDS}
    assert "reply for coder" in caplog.text and "ghp_" not in caplog.text  # never logged
    # An unknown session, and a shell where deciding is off, are refused with exit 1.
    code, _, err = await shell_reply(config, "nobody", "hi")
    assert code == 1 and "no coding-agent session" in err
    ctl.services.approvals.config.socket_decisions = SocketDecisions.OFF
    code, _, err = await shell_reply(config, "coder", "hi")
    assert code == 1 and "socket_decisions is off" in err


async def test_no_reply_is_no_output_and_the_limit_is_never_passed(
    headless: tuple[Controller, Machine, Path], sessions: list[Session]
) -> None:
    ctl, machine, _ = headless
    replies = ctl.services.replies
    session = await new_session(sessions, machine)
    # Nobody answers: the session stops as it would have.
    assert await session.run(stop_event(machine), "--wait-reply", "0.5") is None
    # One reply allowed in a row: the first stop is continued...
    replies.reply("alice", "coder", "once more", via="test")
    continued = await session.run(stop_event(machine), "--wait-reply", "30", "--max-replies", "1")
    assert continued == {"decision": "block", "reason": "once more"}
    # ... the stop that follows it (stop_hook_active) neither waits nor blocks.
    again = stop_event(machine, stop_hook_active=True)
    started = time.monotonic()
    assert await session.run(again, "--wait-reply", "60", "--max-replies", "1") is None
    assert time.monotonic() - started < 30  # answered at once, not after the 60 s wait
    assert replies.waiters("coder") == 0
    # A stop the user started (no stop_hook_active) counts afresh.
    replies.reply("alice", "coder", "new turn", via="test")
    fresh = await session.run(stop_event(machine), "--wait-reply", "30", "--max-replies", "1")
    assert fresh == {"decision": "block", "reason": "new turn"}
    # Without --wait-reply, a Stop never waits, even with a reply kept.
    replies.reply("alice", "coder", "unused", via="test")
    assert await session.run(stop_event(machine)) is None


async def test_a_reply_for_one_session_never_reaches_another(
    headless: tuple[Controller, Machine, Path], sessions: list[Session]
) -> None:
    ctl, machine, config = headless
    replies = ctl.services.replies
    first = await new_session(sessions, machine, "session-a")
    second = await new_session(sessions, machine, "session-b")
    assert await first.run(fixture_event("claude_session_start.json", machine)) is None
    waiting_b = second.hook(stop_event(machine), "--wait-reply", "3")
    await wait_for(lambda: replies.waiters("session-b") == 1, timeout=30)
    code, out, _ = await shell_reply(config, "session-a", "for A only")
    assert code == 0 and "kept" in out
    assert answer_of(await asyncio.wait_for(waiting_b, 30)) is None
    answer = await first.run(stop_event(machine), "--wait-reply", "30")
    assert answer == {"decision": "block", "reason": "for A only"}


async def test_only_the_sessions_own_hook_may_wait_and_moving_on_drops_a_kept_reply(
    headless: tuple[Controller, Machine, Path], sessions: list[Session]
) -> None:
    ctl, machine, _ = headless
    replies = ctl.services.replies
    session = await new_session(sessions, machine)
    assert await session.run(fixture_event("claude_session_start.json", machine)) is None
    # The test process is no descendant of the session's: it may not take its reply.
    from tests.conftest import RawClient

    client = await RawClient.connect(ctl.settings.monitoring.socket_path)
    try:
        body = {"id": 1, "type": "await_reply", "agent": "coder", "pid": session.pid,
                "timeout": 1}  # fmt: skip
        refused = await client.request(body)
        assert not refused["ok"] and "hooks of session" in refused["error"]["message"]
    finally:
        await client.close()
    # A reply kept while the session works on is dropped at its next activity.
    replies.reply("alice", "coder", "stale", via="test")
    assert replies.kept("coder")
    # Heard from without acting (a notification that is no wait, as a status line's redraw):
    # the reply stays.
    bot = ctl.services.fleet.bots["coder"]
    heard = bot.last_heartbeat
    redraw = {
        **fixture_event("claude_notification_idle.json", machine),
        "notification_type": "auth_success",
    }
    assert await session.run(redraw) is None
    await wait_for(lambda: bot.last_heartbeat > heard)
    assert replies.kept("coder")
    tool = fixture_event("claude_post_tool_use.json", machine)
    assert await session.run(tool) is None
    assert not replies.kept("coder")
    assert await session.run(stop_event(machine), "--wait-reply", "0.5") is None


def test_the_hooks_request_is_the_protocols_await_reply() -> None:
    """The hook spells ``await_reply`` in plain JSON (no msgspec on its path)."""
    from chatops.cli.hook_replies import await_reply_body
    from chatops.wire.protocol import AwaitReply, decode

    event = {"hook_event_name": "Stop", "stop_hook_active": True, "session_id": "s-1"}
    body = await_reply_body("coder", 4242, 9999.0, event, 2)
    message = decode(json.dumps({**body, "id": 1}).encode())
    assert isinstance(message, AwaitReply)
    assert (message.agent, message.pid, message.timeout) == ("coder", 4242, 3600.0)
    assert message.continued and message.max_replies == 2 and message.session_id == "s-1"


async def test_a_broken_controller_never_blocks_a_stop(
    workdir: Path, sessions: list[Session]
) -> None:
    """No controller at all, or one that answers garbage: exit 0, no output."""
    from tests.test_hook import answering

    machine = Machine(workdir, automation_settings(workdir))
    session = await new_session(sessions, machine)
    assert await session.run(stop_event(machine), "--wait-reply", "5") is None
    with answering(machine, b"not json\n"):
        assert await session.run(stop_event(machine), "--wait-reply", "5") is None


async def test_a_long_sessions_reply_button_fits_discords_custom_id(
    headless: tuple[Controller, Machine, Path], sessions: list[Session]
) -> None:
    """A name longer than a ``custom_id`` leaves room for is carried as a hash, and found."""
    from chatops.records.alerts import Alert, Severity
    from chatops.services.replies import ReplyService
    from cogs.agents import reply_buttons

    ctl, machine, _ = headless
    long_name = "project-" + "x" * 120
    session = await new_session(sessions, machine, long_name)
    assert await session.run(fixture_event("claude_session_start.json", machine)) is None
    alert = Alert("agent_finished", long_name, Severity.INFO, "t", "b", 1.9e9, "agent_finished")
    pid = ctl.services.fleet.bots[long_name].pid
    [button] = reply_buttons([alert], lambda name: pid if name == long_name else None)
    assert button.item.custom_id is not None and len(button.item.custom_id) <= 100
    replies = ctl.services.replies
    assert replies.agent_of(ReplyService.reference(long_name, pid)) == long_name
    assert ReplyService.reference("coder", 4242) == "n:4242:coder"
    # A button of an earlier session of the same name does not reach this one.
    with pytest.raises(NotFound, match="has ended"):
        replies.agent_of(ReplyService.reference(long_name, pid + 1))
    assert reply_buttons([alert], lambda name: None) == []  # gone before it was posted


def test_a_reply_refused_from_the_sessions_own_tree_says_so_in_reply_words() -> None:
    """The operator's door refuses a reply from the session's own tree in words about a reply,
    and a decision in words about a request: one rule, said for what is being done."""
    import os

    from chatops.runtime.processes import process_ids
    from chatops.services.callers import Caller
    from chatops.services.operators import DECIDING, REPLYING, OperatorGate

    me = process_ids(os.getpid())
    assert me is not None
    caller = Caller(pid=os.getpid(), uid=os.getuid())
    reply = OperatorGate.apart_refusal(caller, [me], terminal=False, words=REPLYING)
    decide = OperatorGate.apart_refusal(caller, [me], terminal=False, words=DECIDING)
    assert reply == "the session (or a process it started) may not reply to itself"
    assert decide == "the agent that asked (or a process it started) may not decide its own request"
