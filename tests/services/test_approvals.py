"""The approval round trip through a real socket and the real client library: the policy
answers at once, a human's decision reaches the waiting agent, timeouts and disconnections
deny, grants let an agent through, and a controller restart re-attaches a pending request."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from chatops.client import MonitorClient
from chatops.composition.controller import Controller
from chatops.config import Settings
from chatops.config.approvals import ApprovalsConfig, Rule, SocketDecisions
from chatops.services.approvals.events import ApprovalError, ApprovalRequested, ApprovalUpdated
from chatops.services.approvals.service import ApprovalService
from chatops.services.approvals.worker import ShellAnalyser
from chatops.services.callers import Caller
from chatops.services.errors import Refused
from tests.conftest import FakeClock, make_settings, query, wait_for

RISKY = {"command": "git push origin main"}


def approvals_of(ctl: Controller) -> ApprovalService:
    return ctl.services.approvals


async def pending_request(ctl: Controller) -> int:
    await wait_for(lambda: approvals_of(ctl).pending())
    return approvals_of(ctl).pending()[0].id


@pytest.fixture
async def agent(settings: Settings) -> Any:
    client = MonitorClient(settings.monitoring.socket_path, backoff_initial=0.05)
    yield client
    await client.close()


async def test_policy_answers_at_once_and_every_request_is_audited(
    settings: Settings, start_controller: Any, agent: MonitorClient
) -> None:
    ctl = await start_controller()
    accepted = await agent.request_approval("file_write", {"file_path": "src/main.py"}, agent="a1")
    assert accepted["decision"] == "approve" and accepted["via"] == "policy"
    denied = await agent.request_approval(
        "terminal_command", {"command": "sudo env X=1 /bin/rm -r -f ~"}, agent="a1"
    )
    assert denied["decision"] == "deny" and "recursive" in denied["reason"]
    secret = await agent.request_approval("file_write", {"file_path": "config/.env"}, agent="a1")
    assert secret["decision"] == "deny" and "*.env" in secret["reason"]
    seed = await agent.should_accept_action("terminal_command", RISKY, agent="a1")
    assert seed["accept"] is False and seed["requires_confirmation"] is True
    assert approvals_of(ctl).pending() == []  # nothing asked a human
    await ctl.store.flush()
    rows = query(settings.monitoring.database_path, "SELECT policy, state, via FROM approvals")
    assert sorted(rows) == [
        ("accept", "accepted", "policy"),
        ("confirm", "checked", "policy"),
        ("deny", "denied", "policy"),
        ("deny", "denied", "policy"),
    ]


async def test_a_human_decision_reaches_the_waiting_agent(
    settings: Settings, start_controller: Any, agent: MonitorClient
) -> None:
    ctl = await start_controller()
    seen: list[object] = []
    ctl.services.bus.subscribe(ApprovalRequested, seen.append)
    ctl.services.bus.subscribe(ApprovalUpdated, seen.append)
    call = asyncio.create_task(agent.request_approval("terminal_command", RISKY, agent="a1"))
    request_id = await pending_request(ctl)
    record = approvals_of(ctl).records[request_id]
    assert record.summary == "git push origin main" and record.rule == "terminal_command"
    assert not call.done()  # waiting, and the connection still answers
    assert await agent.ping()
    approvals_of(ctl).decide(request_id, True, by="alice", identity="1", via="discord")
    result = await asyncio.wait_for(call, 10)
    assert result["decision"] == "approve" and result["decided_by"] == "alice"
    assert result["request"] == request_id
    assert [type(e).__name__ for e in seen] == ["ApprovalRequested", "ApprovalUpdated"]
    with pytest.raises(ApprovalError, match="already approved"):
        approvals_of(ctl).decide(request_id, False, by="bob", identity="2", via="discord")

    denied = asyncio.create_task(agent.request_approval("terminal_command", RISKY, agent="a1"))
    second = await pending_request(ctl)
    approvals_of(ctl).decide(second, False, by="bob", identity="2", via="discord", reason="not now")
    assert (await asyncio.wait_for(denied, 10))["reason"] == "not now"


async def test_two_approvals_required_counts_distinct_approvers(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir)
    settings.approvals.rules["terminal_command"] = Rule(
        enabled=False, requires_confirmation=True, approvals_required=2
    )
    ctl = await start_controller(settings)
    async with MonitorClient(settings.monitoring.socket_path) as agent:
        call = asyncio.create_task(agent.request_approval("terminal_command", RISKY, agent="a1"))
        request_id = await pending_request(ctl)
        service = approvals_of(ctl)
        service.decide(request_id, True, by="alice", identity="1", via="discord")
        with pytest.raises(ApprovalError, match="another approver"):
            service.decide(request_id, True, by="alice", identity="1", via="discord")
        assert not call.done() and service.records[request_id].pending
        service.decide(request_id, True, by="bob", identity="2", via="discord")
        result = await asyncio.wait_for(call, 10)
        assert result["decision"] == "approve"
        assert service.records[request_id].approvers == ["1", "2"]


async def test_timeout_denies_on_the_injected_clock(
    settings: Settings, start_controller: Any, agent: MonitorClient
) -> None:
    clock = FakeClock()
    ctl = await start_controller(clock=clock)
    call = asyncio.create_task(
        agent.request_approval("terminal_command", RISKY, agent="a1", timeout=60)
    )
    request_id = await pending_request(ctl)
    clock.advance(59)
    ctl.services.timers.run_due()
    assert approvals_of(ctl).records[request_id].pending
    clock.advance(1)
    ctl.services.timers.run_due()
    result = await asyncio.wait_for(call, 10)
    assert result["decision"] == "deny" and result["via"] == "timeout"
    assert "within 60s" in result["reason"]


async def test_a_decision_replaces_the_expiry_timer_with_the_one_that_forgets(
    settings: Settings, start_controller: Any, agent: MonitorClient
) -> None:
    clock = FakeClock()
    ctl = await start_controller(clock=clock)
    timers = ctl.services.timers
    call = asyncio.create_task(
        agent.request_approval("terminal_command", RISKY, agent="a1", timeout=60)
    )
    request_id = await pending_request(ctl)
    record = approvals_of(ctl).records[request_id]
    key = ("approval", request_id)
    assert timers.when(key) == record.expires_at == clock.now + 60
    clock.advance(10)
    approvals_of(ctl).decide(request_id, True, by="alice", identity="1", via="discord")
    assert (await asyncio.wait_for(call, 10))["decision"] == "approve"
    grace = settings.approvals.reattach_grace
    assert timers.when(key) == clock.now + grace  # no prompt to close: forgotten after grace
    clock.advance(50)  # past the expiry: nothing happens to a decided request
    timers.run_due()
    assert record.state == "approved" and request_id in approvals_of(ctl).records
    clock.advance(grace - 50)
    timers.run_due()
    assert request_id not in approvals_of(ctl).records and key not in timers


async def test_an_agent_that_disconnects_cancels_its_request(
    settings: Settings, start_controller: Any
) -> None:
    ctl = await start_controller()
    agent = MonitorClient(settings.monitoring.socket_path)
    call = asyncio.create_task(agent.request_approval("terminal_command", RISKY, agent="a1"))
    request_id = await pending_request(ctl)
    call.cancel()
    await agent.close()
    await wait_for(lambda: not approvals_of(ctl).records[request_id].pending)
    record = approvals_of(ctl).records[request_id]
    assert record.state == "cancelled" and record.via == "disconnect"


async def test_a_grant_lets_the_agent_through_without_a_prompt(
    settings: Settings, start_controller: Any, agent: MonitorClient
) -> None:
    clock = FakeClock()
    ctl = await start_controller(clock=clock)
    service = approvals_of(ctl)
    service.grants.add("a1", "terminal_command", by="alice", seconds=30 * 60)
    through = await agent.request_approval("terminal_command", RISKY, agent="a1")
    assert through["decision"] == "approve" and through["via"] == "grant"
    blocked = await agent.request_approval("terminal_command", {"command": "rm -rf /"}, agent="a1")
    assert blocked["decision"] == "deny"  # a grant never lifts a deny
    other = asyncio.create_task(agent.request_approval("terminal_command", RISKY, agent="a2"))
    await pending_request(ctl)  # another agent still asks
    other.cancel()
    clock.advance(30 * 60)
    ctl.services.timers.run_due()
    assert service.grants.find("a1", "terminal_command") is None


FORGER = """
import json, socket, sys
sock = socket.socket(socket.AF_UNIX)
sock.connect(sys.argv[1])
sock.sendall(json.dumps({"id": 1, "type": "approval_request", "agent": "kissbot",
    "action_type": "file_write", "data": {"file_path": "a.py"}}).encode() + b"\\n")
print(sock.makefile().readline())
"""


async def test_nobody_asks_in_a_bot_s_name_but_its_owner(
    settings: Settings, start_controller: Any
) -> None:
    ctl = await start_controller()
    # The bot is a process of its own; the forger is not it nor one of its children.
    bot = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        await _forge_against(ctl, settings, bot.pid)
    finally:
        bot.kill()
        bot.wait()


async def _forge_against(ctl: Controller, settings: Settings, bot_pid: int) -> None:
    async with MonitorClient(settings.monitoring.socket_path) as owner:
        assert await owner.register_with_monitor("kissbot", bot_pid)
        forger = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            FORGER,
            str(settings.monitoring.socket_path),
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(forger.communicate(), 30)
        reply = json.loads(out)
        assert reply["ok"] is False and reply["error"]["code"] == "permission_denied"
        assert (await owner.request_approval("file_write", {"file_path": "a.py"}))["decision"] == (
            "approve"
        )
        await ctl.store.flush()
        rows = query(settings.monitoring.database_path, "SELECT agent FROM approvals")
        assert rows == [("kissbot",)]  # the forged request left no trace


async def test_runtime_changes_survive_a_restart(workdir: Path, start_controller: Any) -> None:
    settings = make_settings(workdir)
    ctl = await start_controller(settings)
    service = approvals_of(ctl)
    assert service.controls.toggle(by="alice") is False
    service.controls.update_rule("file_write", {"max_file_size_mb": 1}, by="alice")
    with pytest.raises(ValueError):
        service.controls.update_rule("file_write", {"max_file_size_mb": -1}, by="alice")
    grant = service.grants.add("a1", "code_review", by="alice", seconds=None)
    await ctl.stop()
    again = approvals_of(await start_controller(settings))
    assert again.config.auto_accept is False
    assert again.config.rules["file_write"].max_file_size_mb == 1
    assert [g.id for g in again.grants.active()] == [grant.id]
    stats = await again.controls.get_statistics()
    assert stats["enabled"] is False and stats["total_actions"] == 0
    assert asdict(await again.controls.statistics()) == stats  # what /autoaccept stats reads, typed


async def test_a_pending_request_survives_a_controller_restart(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir)
    ctl = await start_controller(settings)
    agent = MonitorClient(settings.monitoring.socket_path, backoff_initial=0.05)
    try:
        call = asyncio.create_task(agent.request_approval("terminal_command", RISKY, agent="a1"))
        request_id = await pending_request(ctl)
        await ctl.stop()
        assert not call.done()  # answered shutting_down: the client waits to ask again
        ctl = await start_controller(settings)
        assert approvals_of(ctl).records[request_id].pending
        await wait_for(lambda: approvals_of(ctl)._waiters.get(request_id))  # re-attached
        approvals_of(ctl).decide(request_id, True, by="alice", identity="1", via="discord")
        result = await asyncio.wait_for(call, 10)
        assert result["decision"] == "approve" and result["request"] == request_id
    finally:
        await agent.close()


async def asked_before_a_restart(
    settings: Settings, start_controller: Any, clock: Callable[[], float] = time.time
) -> tuple[Controller, int]:
    """A request left pending by an agent whose controller stopped, and the controller started
    again (on ``clock`` when given): the agent has not asked again yet."""
    ctl = await start_controller(settings)
    agent = MonitorClient(settings.monitoring.socket_path)
    call = asyncio.create_task(agent.request_approval("terminal_command", RISKY, agent="a1"))
    request_id = await pending_request(ctl)
    await ctl.stop()
    call.cancel()
    await agent.close()
    return await start_controller(settings, clock=clock), request_id


async def test_a_request_nobody_reattaches_is_denied_after_the_grace(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir)
    clock = FakeClock(time.time())
    ctl, request_id = await asked_before_a_restart(settings, start_controller, clock)
    service = approvals_of(ctl)
    assert service.records[request_id].pending
    clock.advance(settings.approvals.reattach_grace + 1)
    ctl.services.timers.run_due()
    record = service.records[request_id]
    assert record.state == "denied" and record.via == "restart"


async def test_a_request_from_before_a_restart_waits_for_its_agent_to_be_decided_in_a_shell(
    workdir: Path, start_controller: Any
) -> None:
    """Who asked is known only while its agent waits: until it asks again after a restart, a
    decision over the socket cannot be told apart from it, and is refused."""
    settings = make_settings(workdir)
    ctl, request_id = await asked_before_a_restart(settings, start_controller)
    service = approvals_of(ctl)
    operator = Caller(pid=os.getpid(), uid=os.geteuid())
    with pytest.raises(Refused, match="not known yet"):
        service.decide_as_operator(operator, request_id, approve=True)
    assert service.records[request_id].pending
    service.config.socket_decisions = SocketDecisions.OFF
    with pytest.raises(Refused, match="socket_decisions is off"):
        service.decide_as_operator(operator, request_id, approve=True)


def test_socket_decisions_reads_the_booleans_of_older_configs() -> None:
    """It was a bool: true (open) is now the narrowest open mode, false stays off, and so
    does YAML's unquoted off (a boolean to YAML); the environment's strings read alike."""
    for value, mode in [
        (True, "interactive"),
        (False, "off"),
        ("true", "interactive"),
        ("0", "off"),
        ("any", "any"),
        (yaml.safe_load("socket_decisions: off")["socket_decisions"], "off"),
    ]:
        assert ApprovalsConfig(socket_decisions=value).socket_decisions == mode
    assert ApprovalsConfig().socket_decisions is SocketDecisions.INTERACTIVE
    with pytest.raises(ValidationError):
        ApprovalsConfig(socket_decisions="sometimes")


async def test_a_crashed_parser_costs_one_decision(tmp_path: Path) -> None:
    analyser = ShellAnalyser()
    try:
        assert (await analyser.analyse("ls -la")).parse_error is None
        pool = analyser._pool
        assert pool is not None
        for process in list(pool._processes.values()):  # type: ignore[attr-defined]
            os.kill(process.pid, signal.SIGKILL)
        crashed = await analyser.analyse("ls -la")
        assert crashed.parse_error is not None and "crashed" in crashed.parse_error
        assert (await analyser.analyse("ls -la")).parse_error is None  # a new worker
        assert analyser.restarts == 1
    finally:
        analyser.close()


async def test_secrets_are_masked_before_they_are_shown_or_stored(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir)
    settings.approvals.auto_accept = False
    ctl = await start_controller(settings)
    key = "sk-ant-" + "A1b2C3d4" * 4
    content = f"OPENAI_API_KEY={key}\npassword: hunter2hunter2\nprint('ok')\n"
    async with MonitorClient(settings.monitoring.socket_path) as agent:
        call = asyncio.create_task(
            agent.request_approval(
                "file_write", {"file_path": "app/settings.py", "content": content}
            )
        )
        request_id = await pending_request(ctl)
        record = approvals_of(ctl).records[request_id]
        assert key not in record.preview and "hunter2hunter2" not in record.preview
        assert "print('ok')" in record.preview and "••••••" in record.preview
        assert record.summary == f"app/settings.py ({len(content)} B)"
        approvals_of(ctl).decide(request_id, False, by="alice", identity="1", via="discord")
        assert (await asyncio.wait_for(call, 10))["decision"] == "deny"
    await ctl.store.flush()
    stored = query(settings.monitoring.database_path, "SELECT preview, summary FROM approvals")
    assert key not in repr(stored) and "hunter2hunter2" not in repr(stored)


async def test_a_flood_of_prompts_is_denied_at_once(workdir: Path, start_controller: Any) -> None:
    settings = make_settings(workdir)
    settings.approvals.max_pending_per_agent = 2
    settings.approvals.max_pending = 4
    ctl = await start_controller(settings)
    async with MonitorClient(settings.monitoring.socket_path) as agent:
        waiting = [
            asyncio.create_task(agent.request_approval("terminal_command", RISKY, agent=name))
            for name in ("a", "a", "b")
        ]
        await wait_for(lambda: len(approvals_of(ctl).pending()) == 3)
        third = await agent.request_approval("terminal_command", RISKY, agent="a")
        assert third["decision"] == "deny" and "a already has 2 open requests" in third["reason"]
        waiting.append(
            asyncio.create_task(agent.request_approval("terminal_command", RISKY, agent="c"))
        )
        await wait_for(lambda: len(approvals_of(ctl).pending()) == 4)
        other = await agent.request_approval("terminal_command", RISKY, agent="d")
        assert other["decision"] == "deny" and "4 requests are already waiting" in other["reason"]
        assert len(approvals_of(ctl).pending()) == 4
        for task in waiting:
            task.cancel()
