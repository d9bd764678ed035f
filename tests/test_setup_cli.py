"""``chatops setup claude-code|codex`` as a user runs it: a real process, a home of the test's
own, settings files that already hold the user's things. What it must never do: drop a key or
a hook of the user's, write (or back up) a file it could not read, or change anything the
second time it runs."""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chatops.cli.setup import (
    CLAUDE_EVENTS,
    CODEX_EVENTS,
    claude_hooks,
    is_chatops_command,
    merged_hooks,
    then_of,
)

USER_SETTINGS: dict[str, Any] = {
    "model": "opus",
    "permissions": {"allow": ["Bash(git status)"]},
    "hooks": {
        "PreToolUse": [
            {"matcher": "Bash", "hooks": [{"type": "command", "command": "~/bin/audit.sh"}]}
        ],
        "UserPromptSubmit": [{"hooks": [{"type": "command", "command": "~/bin/prompt.sh"}]}],
    },
}


def run(home: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CHATOPS_", "XDG_", "CODEX_")) and k != "HOME"
    }
    return subprocess.run(
        [sys.executable, "-m", "chatops.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "HOME": str(home)},
        cwd=cwd or home,
        check=False,
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    return home


def write_json(path: Path, value: Any, mode: int = 0o644) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(value, indent=4)
    path.write_text(text)
    path.chmod(mode)
    return text


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.bak-*"))


def ours(settings: dict[str, Any], event: str, words: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        hook
        for group in settings["hooks"][event]
        for hook in group["hooks"]
        if is_chatops_command(hook["command"], words)
    ]


def test_write_keeps_the_users_settings_backs_up_and_adds_every_hook(home: Path) -> None:
    path = home / ".claude" / "settings.json"
    original = write_json(path, USER_SETTINGS, mode=0o640)
    config = home / ".config" / "chatops" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("{}\n")

    result = run(
        home,
        "--config",
        str(config),
        "setup",
        "claude-code",
        "--agent",
        "laptop",
        "--wait-reply",
        "120",
        "--write",
    )

    assert result.returncode == 0, result.stderr
    [backup] = backups(path)
    assert backup.read_text() == original
    assert stat.S_IMODE(backup.stat().st_mode) == 0o640
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # the existing mode is kept
    assert str(path) in result.stdout and str(backup) in result.stdout
    settings = json.loads(path.read_text())
    assert settings["model"] == "opus" and settings["permissions"] == USER_SETTINGS["permissions"]
    assert settings["hooks"]["UserPromptSubmit"] == USER_SETTINGS["hooks"]["UserPromptSubmit"]
    assert settings["hooks"]["PreToolUse"][0] == USER_SETTINGS["hooks"]["PreToolUse"][0]
    for event in CLAUDE_EVENTS:
        [hook] = ours(settings, event, ("hook", "claude-code"))
        words = shlex.split(hook["command"])
        assert words[words.index("--config") + 1] == str(config)
        assert words[words.index("--agent") + 1] == "laptop"
        assert hook["type"] == "command" and hook["timeout"] > 0
    [tools] = [g for g in settings["hooks"]["PreToolUse"] if "audit" not in json.dumps(g)]
    assert tools["matcher"] == "Bash|Write|Edit|MultiEdit|NotebookEdit"
    assert tools["hooks"][0]["timeout"] > 300  # above the hook's own wait for a human
    [stop] = ours(settings, "Stop", ("hook", "claude-code"))
    assert "--wait-reply 120" in stop["command"] and stop["timeout"] > 120
    assert all("matcher" not in g for g in settings["hooks"]["SessionStart"])
    assert is_chatops_command(settings["statusLine"]["command"], ("statusline", "claude-code"))
    assert settings["statusLine"]["type"] == "command"
    assert then_of(settings["statusLine"]["command"]) is None


def test_twice_gives_the_same_file(home: Path) -> None:
    path = home / ".claude" / "settings.json"
    write_json(path, USER_SETTINGS)
    assert run(home, "setup", "claude-code", "--write").returncode == 0
    first = path.read_text()

    again = run(home, "setup", "claude-code", "--write")

    assert again.returncode == 0, again.stderr
    assert path.read_text() == first
    assert len(backups(path)) == 1  # nothing to change: nothing written, no new backup
    printed = run(home, "setup", "claude-code")
    assert printed.stdout == first and "--write would change nothing" in printed.stderr


def test_a_changed_option_replaces_chatops_entries_in_place(home: Path) -> None:
    path = home / ".claude" / "settings.json"
    write_json(path, USER_SETTINGS)
    assert run(home, "setup", "claude-code", "--write").returncode == 0
    before = json.loads(path.read_text())

    assert run(home, "setup", "claude-code", "--agent", "other", "--write").returncode == 0

    after = json.loads(path.read_text())
    assert list(after["hooks"]) == list(before["hooks"])
    for event in CLAUDE_EVENTS:
        assert len(after["hooks"][event]) == len(before["hooks"][event])
        [hook] = ours(after, event, ("hook", "claude-code"))
        assert "--agent other" in hook["command"]
    assert after["hooks"]["PreToolUse"][0] == USER_SETTINGS["hooks"]["PreToolUse"][0]


def test_a_foreign_status_line_is_wrapped_and_kept(home: Path) -> None:
    path = home / ".claude" / "settings.json"
    theirs = "~/bin/status.sh --color 'a b'"
    write_json(path, {"statusLine": {"type": "command", "command": theirs, "padding": 0}})

    assert run(home, "setup", "claude-code", "--write").returncode == 0
    first = path.read_text()
    status = json.loads(first)["statusLine"]
    assert status["padding"] == 0
    assert then_of(status["command"]) == theirs
    assert f"--then {shlex.quote(theirs)}" in status["command"]

    assert run(home, "setup", "claude-code", "--agent", "x", "--write").returncode == 0
    assert then_of(json.loads(path.read_text())["statusLine"]["command"]) == theirs


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '"a string"'])
def test_an_unreadable_file_is_refused_and_left_alone(home: Path, text: str) -> None:
    path = home / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text(text)

    result = run(home, "setup", "claude-code", "--write")

    assert result.returncode == 1
    assert str(path) in result.stderr and "nothing written" in result.stderr
    assert not result.stdout
    assert path.read_text() == text and backups(path) == []
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.json"]


def test_hooks_that_are_not_an_object_are_refused(home: Path) -> None:
    path = home / ".claude" / "settings.json"
    text = write_json(path, {"hooks": ["x"]})
    result = run(home, "setup", "claude-code", "--write")
    assert result.returncode == 1 and '"hooks"' in result.stderr
    assert path.read_text() == text and backups(path) == []


def test_project_targets_its_own_settings_and_a_new_file_is_private(
    home: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()

    result = run(home, "setup", "claude-code", "--project", str(project), "--write")

    assert result.returncode == 0, result.stderr
    path = project / ".claude" / "settings.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert backups(path) == [] and not (home / ".claude").exists()
    assert set(json.loads(path.read_text())["hooks"]) == set(CLAUDE_EVENTS)


def test_settings_path_and_a_symlinked_file(home: Path, tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "claude.json"
    write_json(real, {"model": "sonnet"})
    link = tmp_path / "elsewhere" / "settings.json"
    link.parent.mkdir()
    link.symlink_to(real)

    result = run(home, "setup", "claude-code", "--settings", str(link), "--write")

    assert result.returncode == 0, result.stderr
    assert link.is_symlink()  # written through, not replaced by a plain file
    assert json.loads(real.read_text())["model"] == "sonnet"
    assert "statusLine" in json.loads(real.read_text())


def test_codex_write_keeps_the_users_hooks_and_is_idempotent(home: Path) -> None:
    path = home / ".codex" / "hooks.json"
    user = {
        "hooks": {
            "PreToolUse": [
                {"matcher": "Bash", "hooks": [{"type": "command", "command": "python3 lint.py"}]}
            ],
            "UserPromptSubmit": [{"hooks": [{"type": "command", "command": "./prompt.sh"}]}],
        }
    }
    original = write_json(path, user)

    result = run(home, "setup", "codex", "--agent", "codex-box", "--write")

    assert result.returncode == 0, result.stderr
    [backup] = backups(path)
    assert backup.read_text() == original
    hooks = json.loads(path.read_text())
    assert hooks["hooks"]["UserPromptSubmit"] == user["hooks"]["UserPromptSubmit"]
    assert hooks["hooks"]["PreToolUse"][0] == user["hooks"]["PreToolUse"][0]
    for event in CODEX_EVENTS:
        [hook] = ours(hooks, event, ("hook", "codex"))
        assert "--agent codex-box" in hook["command"] and hook["type"] == "command"
    [permission] = hooks["hooks"]["PermissionRequest"]
    assert permission["hooks"][0]["timeout"] > 300
    first = path.read_text()
    assert run(home, "setup", "codex", "--agent", "codex-box", "--write").returncode == 0
    assert path.read_text() == first and len(backups(path)) == 1


def test_codex_refuses_invalid_json(home: Path) -> None:
    path = home / ".codex" / "hooks.json"
    path.parent.mkdir()
    path.write_text("{,}")
    result = run(home, "setup", "codex", "--write")
    assert result.returncode == 1 and str(path) in result.stderr
    assert path.read_text() == "{,}" and backups(path) == []


def test_codex_without_write_prints_and_warns_of_config_toml(home: Path) -> None:
    (home / ".codex").mkdir()
    (home / ".codex" / "config.toml").write_text("[features]\nhooks = false\n")
    result = run(home, "setup", "codex")
    assert result.returncode == 0, result.stderr
    assert set(json.loads(result.stdout)["hooks"]) == set(CODEX_EVENTS)
    assert "--write would create" in result.stderr and "hooks = false" in result.stderr
    assert not (home / ".codex" / "hooks.json").exists()


@pytest.mark.parametrize("words", [("setup",), ("setup", "claude-code"), ("setup", "codex")])
def test_help_exits_0(home: Path, words: tuple[str, ...]) -> None:
    result = run(home, *words, "--help")
    assert result.returncode == 0 and result.stdout.startswith("usage: chatops")


@pytest.mark.parametrize(
    ("command", "words", "expected"),
    [
        ("/v/bin/chatops hook claude-code", ("hook", "claude-code"), True),
        (
            "'/my dir/chatops' --config /c.yaml hook claude-code --agent a",
            ("hook", "claude-code"),
            True,
        ),
        ("/usr/bin/python3 -m chatops.cli --log-level debug hook codex", ("hook", "codex"), True),
        ("/v/bin/chatops hook claude-code", ("hook", "codex"), False),
        ("~/bin/chatops-notify.sh hook claude-code", ("hook", "claude-code"), False),
        ("echo 'unbalanced", ("hook", "claude-code"), False),
        (None, ("hook", "claude-code"), False),
    ],
)
def test_chatops_commands_are_recognised(
    command: object, words: tuple[str, ...], expected: bool
) -> None:
    assert is_chatops_command(command, words) is expected


def test_a_chatops_hook_sharing_a_group_with_the_users_is_taken_out_of_it() -> None:
    """The user's hook keeps its group and matcher; chatops's takes its own group, in place."""
    mine = {"type": "command", "command": "~/bin/audit.sh"}
    old = {"type": "command", "command": "/old/bin/chatops hook claude-code --timeout 60"}
    existing = {"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [old, mine]}, {"x": 1}]}}
    [entry] = [e for e in claude_hooks(["/new/chatops"], None, None) if e.event == "PreToolUse"]

    merged = merged_hooks(existing, [entry], ("hook", "claude-code"))

    assert merged["hooks"]["PreToolUse"] == [
        entry.group(),
        {"matcher": "Bash", "hooks": [mine]},
        {"x": 1},
    ]
    assert merged_hooks(merged, [entry], ("hook", "claude-code")) == merged
