"""Coding-agent sessions in the status views: ``chatops status`` (text and JSON, with and without
a controller) and ``/status`` (the overview and one session's detail), fed through the session
service as a session's hooks would feed it. The web's views are in ``tests/web``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from chatops.cli.status import format_sessions_table, sessions_of
from chatops.config import Settings
from chatops.presentation.sessions import context_text, cost_text, short_cwd
from chatops.services.callers import Caller
from tests.conftest import Running
from tests.test_approvals_cli import config_file, run_chatops
from tests.test_discord import assert_within_limits

HOME = os.path.expanduser("~")
HOSTILE_CWD = "/tmp/<script>alert(1)</script>/\x1b[31mred"


def start_session(
    services: Any,
    name: str,
    *,
    cwd: str = f"{HOME}/src/webapp",
    model: str = "claude-opus-4-5",
    tool: str = "Bash",
    cost: float = 1.234,
    context: float = 45.0,
    waiting: bool = False,
) -> None:
    """A session run by this process (its own descendant, as the service requires), told of
    as its hooks would: it starts, uses a tool with its status line's figures, maybe waits.
    Each event is a new Caller: each hook is a connection of its own."""

    def event(kind: Any, **facts: Any) -> None:
        caller = Caller(pid=os.getpid(), uid=os.getuid())
        services.sessions.event(caller, name, os.getpid(), kind, "claude-code", **facts)

    event("start", session_id=f"id-{name}", cwd=cwd, model=model)
    event("activity", tool=tool, cost_usd=cost, context_pct=context)
    if waiting:
        event("waiting", message="May I run rm?")


def test_shared_formats() -> None:
    assert cost_text(1.234) == "$1.23" and cost_text(0) == "$0.00" and cost_text(None) == "-"
    assert context_text(45.4) == "45%" and context_text(None) == "-"
    assert short_cwd("/home/me/src", "/home/me") == "~/src"
    assert short_cwd("/home/me", "/home/me/") == "~"
    assert short_cwd("/home/mel/src", "/home/me") == "/home/mel/src"
    assert short_cwd(None) == "-"


def test_the_sessions_table_comes_from_status_json_and_follows_its_bots() -> None:
    bots = [{"channel": "webapp", "status": "online"}, {"channel": "api", "status": "down"}]
    facts = {"cwd": "/home/me/src/webapp", "model": "opus", "cost_usd": 2.5, "context_pct": 12}
    agents: list[dict[str, Any]] = [
        {"name": "webapp", "agent_type": "codex", "status": "idle", "current_task": "Edit"}
        | {"session": facts | {"waiting": True}},
        {"name": "api", "agent_type": "claude-code", "status": "processing", "session": {}},
        {"name": "library-agent", "status": "idle", "session": None},
        {"name": "gone", "status": "idle", "session": facts},  # its bot was filtered out
    ]
    table = format_sessions_table(sessions_of(bots, agents, home="/home/me")).splitlines()
    header, waiting = "NAME KIND STATUS MODEL LAST TOOL COST CTX % CWD", "waiting opus Edit"
    assert table[0].split() == header.split()
    # Waiting first: that is what someone should look at.
    assert table[1].split() == ["webapp", "codex", *waiting.split(), "$2.50", "12%", "~/src/webapp"]
    assert table[2].split() == ["api", "claude-code", "down", "-", "-", "-", "-", "-"]
    assert len(table) == 3


async def test_chatops_status_shows_sessions_with_and_without_a_controller(
    workdir: Path, settings: Settings, start_controller: Any
) -> None:
    ctl = await start_controller(settings)
    start_session(ctl.services, "webapp", waiting=True)
    start_session(ctl.services, "evil", cwd=HOSTILE_CWD, model="<b>m</b>\x1b[2J", tool="Read")
    config = config_file(workdir, settings)

    code, out, err = await run_chatops(config, "status")
    assert (code, err) == (0, "")
    bots_table, sessions = out.split("\nSESSIONS\n")
    assert "webapp" in bots_table and "session" in bots_table
    rows = {line.split()[0]: line for line in sessions.splitlines()[1:3]}
    expected = "webapp claude-code waiting claude-opus-4-5 Bash $1.23 45% ~/src/webapp"
    assert rows["webapp"].split() == expected.split()
    assert "online" in rows["evil"] and "Read" in rows["evil"]
    assert "\x1b" not in out and "\\x1b[31mred" in rows["evil"] and "\\x1b[2J" in rows["evil"]

    code, out, _ = await run_chatops(config, "status", "--json")
    answer = json.loads(out)
    agents = {agent["name"]: agent for agent in answer["agents"]}
    assert agents["webapp"]["current_task"] == "Bash"
    assert agents["webapp"]["session"] == {
        "session_id": "id-webapp",
        "cwd": f"{HOME}/src/webapp",
        "model": "claude-opus-4-5",
        "cost_usd": 1.234,
        "context_pct": 45.0,
        "waiting": True,
    }
    assert agents["evil"]["session"]["cwd"] == HOSTILE_CWD  # JSON is data: escaped by json

    # No controller answers: the same table from the database file.
    await ctl.store.flush()
    offline = workdir / "offline.yaml"
    monitoring = {
        "socket_path": str(workdir / "nobody.sock"),
        "database_path": str(settings.monitoring.database_path),
    }
    offline.write_text(yaml.safe_dump({"monitoring": monitoring}))
    code, out, err = await run_chatops(offline, "status")
    assert code == 0, err
    assert "from database (monitor not running)" in out
    offline_rows = out.split("\nSESSIONS\n")[1].splitlines()
    assert offline_rows[:3] == sessions.splitlines()[:3]
    code, out, _ = await run_chatops(offline, "status", "--json")
    offline_agents = {agent["name"]: agent for agent in json.loads(out)["agents"]}
    assert offline_agents["webapp"]["session"] == agents["webapp"]["session"]


async def test_no_sessions_no_sessions_table(
    workdir: Path, settings: Settings, start_controller: Any
) -> None:
    await start_controller(settings)
    code, out, _ = await run_chatops(config_file(workdir, settings), "status")
    assert code == 0 and "SESSIONS" not in out


async def test_status_lists_30_sessions_within_discords_limits(running: Running) -> None:
    services = running.bot.services
    for n in range(30):
        start_session(
            services,
            f"session-{n:02d}-of-a-project-with-a-long-name",
            cwd=f"{HOME}/src/" + "deep/" * 30 + f"project-{n}",
            waiting=n == 7,
        )
    start_session(services, "evil", cwd=HOSTILE_CWD, model="<@&123> **bold**")
    _, body = await running.slash("status")
    [first] = body["data"]["embeds"]
    pages = int(first["footer"]["text"].split("/")[1].split(" ")[0])
    assert "31 coding sessions" in first["footer"]["text"]
    embeds = [first]
    message = running.message_of(body)
    next_id = body["data"]["components"][0]["components"][1]["custom_id"] if pages > 1 else ""
    for _ in range(2, pages + 1):
        embeds += (await running.click(message, next_id))["data"]["embeds"]
    for embed in embeds:
        assert_within_limits(embed)
    text = "\n".join(embed["description"] for embed in embeds)
    assert "**Coding sessions**" in text and pages >= 2
    assert embeds[-1]["description"].split("\n\n", 1)[1].startswith("**Coding sessions** (cont")
    lines = [line for line in text.splitlines() if "claude\\-code" in line]
    assert len(lines) == 31
    # Waiting first, then by name; each line says what the session is doing.
    assert lines[0].startswith("⏳ **session\\-07") and " · waiting · " in lines[0]
    assert lines[1].startswith("🟢 **evil**") and lines[2].startswith("🟢 **session\\-00")
    assert "claude\\-opus\\-4\\-5 · Bash · $1.23 · ctx 45% · …" in lines[2]
    [evil] = [line for line in lines if line.startswith("🟢 **evil**")]
    assert "\x1b" not in evil and "\\x1b\\[31mred" in evil
    assert "\\<script\\>" in evil and "<@&" not in evil and "\\*\\*bold\\*\\*" in evil


async def test_status_of_a_session_shows_what_it_is_doing(running: Running) -> None:
    services = running.bot.services
    start_session(services, "webapp", waiting=True)
    start_session(services, "evil", cwd=HOSTILE_CWD, tool="<script>")
    fields = {}
    for name in ("webapp", "evil"):
        interaction = await running.fake.slash(
            "status", [{"type": 3, "name": "bot", "value": name}]
        )
        [embed] = (await running.fake.wait_followup(interaction))["embeds"]
        assert_within_limits(embed)
        fields[name] = {f["name"]: f["value"] for f in embed["fields"]}
    webapp = fields["webapp"]
    assert webapp["session"] == "claude\\-code · waiting"
    assert webapp["model"] == "claude\\-opus\\-4\\-5" and webapp["last tool"] == "Bash"
    assert webapp["cost"] == "$1.23" and webapp["context"] == "45%"
    assert webapp["cwd"] == "\\~/src/webapp"  # a ~ could start a strikethrough
    evil = fields["evil"]
    assert evil["session"] == "claude\\-code · online"
    assert evil["cwd"] == "/tmp/\\<script\\>alert\\(1\\)\\</script\\>/\\\\x1b\\[31mred"
    assert evil["last tool"] == "\\<script\\>"
