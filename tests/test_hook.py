"""``chatops hook claude-code`` as Claude Code runs it: a real process, the event on stdin, in
the agent's project directory, with chatops's config found the way a user installs it (the
config directory) and a home of the test's own. What it must never do: exit 2 (that blocks the
tool), act on an event other than ``PreToolUse``, or allow what the policy would not."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from chatops.composition.controller import Controller
from chatops.config import Settings
from tests.conftest import make_settings, query, wait_for

PUSH = {"command": "git push origin main"}


class Machine:
    """A user's machine in a temp dir: a home, chatops's config in its config directory, and a
    project (the agent's working directory) with a ``config.yaml`` of its own."""

    def __init__(self, root: Path, settings: Settings) -> None:
        self.stderr = ""
        """The last hook run's standard error."""
        self.home = root / "home"
        self.project = self.home / "project"
        self.project.mkdir(parents=True)
        self.config_dir = self.home / ".config" / "chatops"
        self.config_dir.mkdir(parents=True)
        monitoring = {
            "socket_path": str(settings.monitoring.socket_path),
            "database_path": str(settings.monitoring.database_path),
        }
        self.config = self.config_dir / "config.yaml"
        self.config.write_text(yaml.safe_dump({"monitoring": monitoring}))
        # The project's own config.yaml means nothing to chatops (and is not valid for it).
        (self.project / "config.yaml").write_text("database:\n  url: postgres://app\n")

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("CHATOPS_", "XDG_", "HOME"))
        }
        return {**env, "HOME": str(self.home), **extra}

    def event(self, tool: str, tool_input: dict[str, Any], **fields: Any) -> dict[str, Any]:
        """An event as Claude Code writes it on the hook's stdin."""
        return {
            "session_id": "abc123",
            "transcript_path": f"{self.home}/.claude/projects/p/abc123.jsonl",
            "cwd": str(self.project),
            "permission_mode": "default",
            "hook_event_name": "PreToolUse",
            "tool_name": tool,
            "tool_input": tool_input,
            "tool_use_id": "toolu_01",
            **fields,
        }

    async def hook(
        self,
        event: dict[str, Any] | bytes,
        *args: str,
        agent: str | None = None,
        hook_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> dict[str, Any] | None:
        """Run the hook; it must exit 0 and print nothing or one PreToolUse decision."""
        stdin = event if isinstance(event, bytes) else json.dumps(event).encode()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "chatops.cli",
            *args,
            "hook",
            "claude-code",
            *(["--agent", agent] if agent else []),
            *hook_args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=self.project,
            env=self.env() if env is None else env,
        )
        out, err = await asyncio.wait_for(proc.communicate(stdin), 60)
        self.stderr = err.decode()
        assert proc.returncode == 0, (proc.returncode, self.stderr)
        if not out.strip():
            return None
        decision: dict[str, Any] = json.loads(out)["hookSpecificOutput"]
        assert decision["hookEventName"] == "PreToolUse"
        return decision


@pytest.fixture
def machine(workdir: Path) -> Machine:
    return Machine(workdir, make_settings(workdir))


def verdict(decision: dict[str, Any] | None) -> str | None:
    return None if decision is None else str(decision["permissionDecision"])


def reason(decision: dict[str, Any] | None) -> str:
    """The reason the hook gave Claude Code (what the agent reads in its transcript)."""
    assert decision is not None, "no decision"
    return str(decision["permissionDecisionReason"])


async def test_decisions_through_the_controller(machine: Machine, start_controller: Any) -> None:
    ctl: Controller = await start_controller(make_settings(machine.home.parent))
    project = machine.project
    denied = await machine.hook(machine.event("Bash", {"command": "sudo rm -rf /"}))
    assert verdict(denied) == "deny" and denied is not None
    assert "recursive" in denied["permissionDecisionReason"]
    write = {"file_path": f"{project}/src/app.py", "content": "x = 1\n"}
    assert verdict(await machine.hook(machine.event("Write", write))) == "allow"
    env_file = {"file_path": f"{project}/.env", "old_string": "A", "new_string": "B"}
    assert verdict(await machine.hook(machine.event("Edit", env_file))) == "deny"
    assert await machine.hook(machine.event("Read", {"file_path": f"{project}/README"})) is None

    # A command that needs a human waits for one, then allows.
    waiting = asyncio.create_task(machine.hook(machine.event("Bash", PUSH)))
    await wait_for(lambda: ctl.services.approvals.pending(), timeout=30)
    [record] = ctl.services.approvals.pending()
    assert record.agent == machine.project.name and record.summary.startswith(
        "git push origin main"
    )
    ctl.services.approvals.decide(record.id, True, by="alice", identity="1", via="discord")
    assert verdict(await asyncio.wait_for(waiting, 30)) == "allow"


@pytest.mark.parametrize(
    "target",
    [
        "/etc/passwd",
        "~/.ssh/authorized_keys",
        "~/.bashrc",
        "~/.aws/credentials",
        "~/.claude/settings.json",
        "~/other-project/main.py",
        "../other-project/main.py",
    ],
)
async def test_writes_outside_the_project_are_never_allowed(
    machine: Machine, start_controller: Any, target: str
) -> None:
    """No ``approvals.workspace_root``: the session's cwd is the workspace, and system,
    credential and start-up files are denied whatever the rules say."""
    await start_controller(make_settings(machine.home.parent))
    path = target.replace("~", str(machine.home), 1)
    decision = await machine.hook(machine.event("Write", {"file_path": path, "content": "x"}))
    assert verdict(decision) == "deny", decision


async def test_only_tool_decisions_are_judged(machine: Machine, start_controller: Any) -> None:
    """PreToolUse and PermissionRequest ask the policy (tests/test_coding_sessions.py has the
    second); every other event only reports the session and answers nothing."""
    ctl: Controller = await start_controller(make_settings(machine.home.parent))
    bash = {"command": "git push origin main"}
    for event in (
        machine.event("Bash", bash, hook_event_name="PostToolUse", tool_response={"stdout": ""}),
        machine.event("Write", {"file_path": "a.py", "content": "x"}, hook_event_name="Stop"),
        {**machine.event("Bash", bash), "hook_event_name": None},
        {k: v for k, v in machine.event("Bash", bash).items() if k != "hook_event_name"},
        {"hook_event_name": "UserPromptSubmit", "prompt": "rm -rf /"},
    ):
        assert await machine.hook(event) is None, event
    assert ctl.services.approvals.pending() == []
    assert ctl.services.approvals.records == {}


async def test_the_projects_config_yaml_is_never_read(machine: Machine) -> None:
    """The agent's cwd holds a config.yaml that is not chatops's: the hook must not exit 2 on
    it (exit 2 blocks every tool call), and decides with chatops's own config."""
    decision = await machine.hook(machine.event("Bash", {"command": "rm -rf /"}))
    assert verdict(decision) == "deny"
    # Found through $CHATOPS_CONFIG too, and through --config.
    (machine.config_dir / "config.yaml").rename(machine.home / "chatops.yaml")
    env = machine.env(CHATOPS_CONFIG=str(machine.home / "chatops.yaml"))
    assert verdict(await machine.hook(machine.event("Bash", {"command": "rm -rf /"}), env=env)) == (
        "deny"
    )


async def test_the_policy_decides_without_the_controller(machine: Machine) -> None:
    project = machine.project
    cases = {
        "deny": machine.event("Bash", {"command": "rm -rf /"}),
        "allow": machine.event("Write", {"file_path": f"{project}/a.py", "content": "x"}),
        "ask": machine.event("Bash", PUSH),
    }
    for expected, event in cases.items():
        decision = await machine.hook(event)
        assert verdict(decision) == expected, decision
        assert "controller is not running" in reason(decision)
    bashrc = machine.event("Write", {"file_path": f"{machine.home}/.bashrc", "content": "x"})
    assert verdict(await machine.hook(bashrc)) == "deny"


@contextmanager
def answering(machine: Machine, reply: bytes) -> Iterator[Path]:
    """Something on the hook's socket path that answers every connection with ``reply``."""
    path = Path(yaml.safe_load(machine.config.read_text())["monitoring"]["socket_path"])
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(8)

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return  # closed: the test is over
            with conn, contextlib.suppress(OSError):  # a sender that did not wait for it
                conn.recv(65536)
                conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        server.shutdown(socket.SHUT_RDWR)
        server.close()
        thread.join(5)
        path.unlink(missing_ok=True)


@pytest.fixture
def garbled_socket(machine: Machine) -> Iterator[Path]:
    """Not a controller: a line that is not JSON, then the connection closes."""
    with answering(machine, b"HTTP/1.1 400 Bad Request\r\n\r\n") as path:
        yield path


async def test_the_controllers_refusals_are_answered_at_once(machine: Machine) -> None:
    """A controller that is stopping before it took the request: the local policy decides.
    Any other error reply: ``ask`` at once, never a retry until the timeout (six minutes of a
    blocked tool)."""
    rm = machine.event("Bash", {"command": "rm -rf /"})
    stopping = b'{"id":1,"ok":false,"error":{"code":"shutting_down","message":"bye"}}\n'
    with answering(machine, stopping):
        decision = await machine.hook(rm)
    assert verdict(decision) == "deny" and "controller is not running" in reason(decision)
    broken = b'{"id":1,"ok":false,"error":{"code":"internal_error","message":"boom"}}\n'
    with answering(machine, broken):
        decision = await machine.hook(rm, hook_args=("--timeout", "300"))
    assert verdict(decision) == "ask" and "internal_error" in reason(decision)


async def test_a_misspelt_hook_command_still_answers(machine: Machine) -> None:
    """``claude_code`` for ``claude-code`` in settings.json: the hook parser's own error."""
    event = json.dumps(machine.event("Bash", {"command": "ls"})).encode()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chatops.cli", "hook", "claude_code",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=machine.env(),
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(event), 60)
    assert proc.returncode == 0 and b"invalid choice" in err
    assert json.loads(out)["hookSpecificOutput"]["permissionDecision"] == "ask"


async def test_internal_problems_are_answered_never_a_crash(
    machine: Machine, garbled_socket: Path, workdir: Path
) -> None:
    # A garbled controller: the local policy decides.
    decision = await machine.hook(machine.event("Bash", {"command": "rm -rf /"}))
    assert verdict(decision) == "deny"
    # A config that does not parse, named by --config or $CHATOPS_CONFIG: ask, exit 0.
    broken = workdir / "broken.yaml"
    broken.write_text("monitoring: [unclosed\n")
    event = machine.event("Bash", {"command": "ls"})
    for decision in (
        await machine.hook(event, "--config", str(broken)),
        await machine.hook(event, env=machine.env(CHATOPS_CONFIG=str(broken))),
        await machine.hook(event, env=machine.env(CHATOPS_CONFIG=str(workdir / "missing.yaml"))),
    ):
        assert verdict(decision) == "ask" and "config" in reason(decision), decision
    # A config that parses but is invalid for chatops, with the controller away.
    invalid = workdir / "invalid.yaml"
    invalid.write_text("monitoring:\n  stale_timeout: -1\n")
    decision = await machine.hook(event, "--config", str(invalid))
    assert verdict(decision) == "ask" and "config is unusable" in reason(decision)
    # The details go to the operator (stderr), not into the agent's transcript.
    assert "stale_timeout" in machine.stderr and "stale_timeout" not in str(decision)
    # An event that is not JSON, or not an object; a command line that does not parse.
    assert verdict(await machine.hook(b"{not json")) == "ask"
    assert verdict(await machine.hook(b"[1, 2]")) == "ask"
    # A tool chatops judges whose input is not an object: not silently passed through.
    garbled = machine.event("Bash", {"command": "ls"})
    garbled["tool_input"] = "ls"
    decision = await machine.hook(garbled)
    assert verdict(decision) == "ask" and "input is not a JSON object" in reason(decision)
    for wrong in (("--timeout", "soon"), ("--agentt", "x"), ("--timeout",)):
        assert verdict(await machine.hook(event, hook_args=wrong)) == "ask", wrong
    assert verdict(await machine.hook(event, "--log-level", "loud")) == "ask"
    assert (
        "chatops: error: argument --log-level: 'loud' is not one of DEBUG, INFO, WARNING, ERROR"
        in machine.stderr.splitlines()
    )


async def test_without_the_controller_its_saved_changes_still_apply(
    machine: Machine, start_controller: Any
) -> None:
    """The toggle and the grants the controller saved are the policy the hook runs locally."""
    ctl: Controller = await start_controller(make_settings(machine.home.parent))
    ctl.services.approvals.controls.toggle(False, by="alice")
    ctl.services.approvals.grants.add("claude-laptop", "file_write", by="carol", seconds=3600)
    await ctl.store.flush()
    await ctl.stop()
    write = machine.event("Write", {"file_path": f"{machine.project}/a.py", "content": "x"})
    decision = await machine.hook(write)
    assert verdict(decision) == "ask" and "auto-accept is off" in reason(decision)
    granted = await machine.hook(write, agent="claude-laptop")
    assert verdict(granted) == "allow" and "grant #1 by carol" in reason(granted)


def test_the_hooks_request_is_the_protocols_approval_request() -> None:
    """The hook spells its request in plain JSON (no msgspec on its path): the protocol must
    read it as the ApprovalRequest it means, a large content fitted under the cap."""
    from chatops.cli.hook import approval_request_body
    from chatops.client.actions import CONTENT_CHARS
    from chatops.wire.protocol import ApprovalRequest, decode

    content = "x" * (CONTENT_CHARS * 4)
    data = {"file_path": "a.py", "content": content, "cwd": "/srv/p"}
    body = approval_request_body("claude-laptop", "file_write", data, 300.0, "k" * 32)
    message = decode(json.dumps({**body, "id": 1}).encode())
    assert isinstance(message, ApprovalRequest)
    assert (message.agent, message.action_type, message.timeout, message.key) == (
        "claude-laptop",
        "file_write",
        300.0,
        "k" * 32,
    )
    assert message.wait and message.data["file_size"] == len(content)
    assert message.data["content"] == content[:CONTENT_CHARS] and message.data["cwd"] == "/srv/p"


async def test_the_path_to_the_controllers_answer_imports_only_what_it_needs(
    machine: Machine, start_controller: Any
) -> None:
    """With the controller running, neither the protocol's msgspec types, pydantic, the
    policy's parser nor the asyncio client are imported: the hook runs on every tool call."""
    await start_controller(make_settings(machine.home.parent))
    probe = (
        "import json, sys\n"
        "from chatops.cli import main\n"
        "code = main(['hook', 'claude-code'])\n"
        "heavy = {'msgspec', 'pydantic', 'pydantic_settings', 'tree_sitter', 'aiohttp',"
        " 'discord', 'asyncio', 'aiosqlite', 'wcmatch'}\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & heavy)),"
        " file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    write = machine.event("Write", {"file_path": "src/a.py", "content": "x = 1\n"})
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        probe,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=machine.project,
        env=machine.env(),
    )
    out, err = await asyncio.wait_for(proc.communicate(json.dumps(write).encode()), 60)
    assert proc.returncode == 0
    assert json.loads(out)["hookSpecificOutput"]["permissionDecision"] == "allow"
    assert json.loads(err.decode().strip().splitlines()[-1]) == []


def test_the_socket_is_found_as_the_controller_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hook's own reading of ``monitoring.socket_path`` (without the settings models): the
    environment, then the file, then the default; a key only in a comment is no key."""
    from chatops.config_file import ConfigError, configured_socket_path
    from chatops.paths import default_socket_path

    for name in [k for k in os.environ if k.upper().startswith("CHATOPS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    config = tmp_path / "c.yaml"
    config.write_text("monitoring:\n  # socket_path: /elsewhere.sock\n  stale_timeout: 90\n")
    assert (
        configured_socket_path(config) == default_socket_path() == tmp_path / "chatops/monitor.sock"
    )
    assert configured_socket_path(None) == default_socket_path()
    config.write_text("monitoring:\n  socket_path: /srv/m.sock  # the fleet's\n")
    assert configured_socket_path(config) == Path("/srv/m.sock")
    monkeypatch.setenv("chatops_monitoring__socket_path", "/env/m.sock")
    assert configured_socket_path(config) == Path("/env/m.sock")
    monkeypatch.delenv("chatops_monitoring__socket_path")
    for broken in (
        "monitoring:\n  socket_path: [1]\n",
        "monitoring: {socket_path: [\n",
        "- socket_path\n",
    ):
        config.write_text(broken)
        with pytest.raises(ConfigError):
            configured_socket_path(config)


async def test_a_request_no_approver_can_be_told_of_is_handed_to_claude_code(
    machine: Machine, start_controller: Any, workdir: Path
) -> None:
    """Headless, no webhook (``approvals.unattended: answer``, the default): nobody would see
    the request, so the hook does not hold Claude Code until the timeout: Claude Code's own
    prompt asks the person at it. A webhook that announces requests makes it wait again."""
    from chatops.cli import hook
    from chatops.services.approvals.events import UNATTENDED
    from tests.webhook_receiver import WebhookReceiver

    assert hook.UNATTENDED == UNATTENDED  # the hook's copy of the service's word
    settings = make_settings(workdir)
    settings.approvals.unattended = "answer"
    ctl: Controller = await start_controller(settings)
    decision = await machine.hook(machine.event("Bash", PUSH))
    assert verdict(decision) == "ask" and "no approver can be told" in reason(decision)
    assert ctl.services.approvals.pending() == []
    await ctl.stop()  # flushes the audit: the request was answered, and recorded as such
    audit = query(settings.monitoring.database_path, "SELECT state, via FROM approvals")
    assert audit == [("denied", UNATTENDED)]

    receiver = await WebhookReceiver().start()
    try:
        settings.alerts.webhook_urls = [SecretStr(receiver.url)]
        ctl = await start_controller(settings)
        waiting = asyncio.create_task(machine.hook(machine.event("Bash", PUSH)))
        await wait_for(lambda: ctl.services.approvals.pending(), timeout=30)
        [pending] = ctl.services.approvals.pending()
        ctl.services.approvals.decide(pending.id, False, by="bob", identity="2", via="cli")
        assert verdict(await asyncio.wait_for(waiting, 30)) == "deny"
    finally:
        await receiver.stop()
