"""Approvals without Discord: ``chatops approvals`` and ``chatops hook claude-code`` run as real
processes against a controller in this test's loop, and a webhook announces each pending
request. Hook events are shaped as Claude Code documents its ``PreToolUse`` input."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import SecretStr

from chatops.client import MonitorClient
from chatops.config import Settings
from chatops.runtime.controller import Controller
from tests.conftest import make_settings, spawn_bot, wait_for
from tests.webhook_receiver import WebhookReceiver

PUSH = {"command": "git push origin main"}


def hook_event(tool: str, tool_input: dict[str, Any], cwd: str = "/srv/repo") -> dict[str, Any]:
    """A ``PreToolUse`` event as Claude Code writes it on the hook's stdin."""
    return {
        "session_id": "abc123",
        "transcript_path": "/home/dev/.claude/projects/repo/abc123.jsonl",
        "cwd": cwd,
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": tool,
        "tool_input": tool_input,
        "tool_use_id": "toolu_01",
    }


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


async def hook(config: Path, event: dict[str, Any]) -> dict[str, Any] | None:
    code, out, err = await run_chatops(
        config, "hook", "claude-code", stdin=json.dumps(event).encode()
    )
    assert code == 0, err
    if not out.strip():
        return None
    decision: dict[str, Any] = json.loads(out)["hookSpecificOutput"]
    assert decision["hookEventName"] == "PreToolUse"
    return decision


async def test_claude_code_hook_decisions(workdir: Path, start_controller: Any) -> None:
    settings = make_settings(workdir)
    config = config_file(workdir, settings)
    # No controller yet: Claude Code's own prompt, never a silent allow.
    offline = await hook(config, hook_event("Bash", {"command": "ls"}))
    assert offline is not None and offline["permissionDecision"] == "ask"

    ctl: Controller = await start_controller(settings)
    denied = await hook(config, hook_event("Bash", {"command": "sudo rm -rf /", "timeout": 5}))
    assert denied is not None and denied["permissionDecision"] == "deny"
    assert "recursive" in denied["permissionDecisionReason"]
    written = await hook(
        config, hook_event("Write", {"file_path": "/srv/repo/src/app.py", "content": "x = 1\n"})
    )
    assert written is not None and written["permissionDecision"] == "allow"
    secret = await hook(
        config,
        hook_event("Edit", {"file_path": "/srv/repo/.env", "old_string": "A", "new_string": "B"}),
    )
    assert secret is not None and secret["permissionDecision"] == "deny"
    assert await hook(config, hook_event("Read", {"file_path": "/srv/repo/README.md"})) is None

    # A command that needs a human waits for one, then allows.
    waiting = asyncio.create_task(hook(config, hook_event("Bash", PUSH)))
    await wait_for(lambda: ctl.services.approvals.pending(), timeout=30)
    [record] = ctl.services.approvals.pending()
    assert record.agent == "claude-code" and record.summary.startswith("git push origin main")
    ctl.services.approvals.decide(record.id, True, by="alice", identity="1", via="discord")
    allowed = await asyncio.wait_for(waiting, 30)
    assert allowed is not None and allowed["permissionDecision"] == "allow"


async def test_chatops_approvals_decides_from_a_shell(workdir: Path, start_controller: Any) -> None:
    receiver = await WebhookReceiver().start()
    settings = make_settings(workdir)
    settings.alerts.webhook_urls = [SecretStr(receiver.url)]
    config = config_file(workdir, settings)
    ctl: Controller = await start_controller(settings)
    agent = spawn_bot("approval_agent.py", str(settings.monitoring.socket_path), "coder", stdin=-1)
    try:
        assert agent.stdin is not None and agent.stdout is not None
        assert json.loads(await asyncio.to_thread(agent.stdout.readline))["ready"]
        agent.stdin.write(json.dumps({"type": "terminal_command", "data": PUSH}).encode() + b"\n")
        agent.stdin.flush()
        await wait_for(lambda: ctl.services.approvals.pending(), timeout=30)

        # The webhook announces it, with the request's id.
        await wait_for(lambda: receiver.delivered(), timeout=20)
        [announced] = receiver.delivered()
        assert announced["kind"] == "approval_requested" and announced["subject"] == "coder"
        request_id = announced["request"]

        code, out, _ = await run_chatops(config, "approvals", "list")
        assert code == 0 and f"#{request_id}  coder  terminal_command" in out
        assert "git push origin main" in out
        code, out, _ = await run_chatops(config, "approvals", "list", "--json")
        assert [item["id"] for item in json.loads(out)] == [request_id]

        code, out, err = await run_chatops(
            config, "approvals", "deny", str(request_id), "--reason", "not on main"
        )
        assert code == 0 and "denied" in out, err
        answer = json.loads(await asyncio.to_thread(agent.stdout.readline))
        assert answer["decision"] == "deny" and answer["reason"] == "not on main"
        assert answer["via"] == "cli"

        code, _, err = await run_chatops(config, "approvals", "approve", str(request_id))
        assert code == 1 and "already denied" in err
        code, _, err = await run_chatops(config, "approvals", "approve", "999")
        assert code == 1 and "no open approval request #999" in err
    finally:
        agent.kill()
        agent.wait(10)
        await receiver.stop()


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
