"""The approval policy: the seed's rules, paths that cannot be dressed up, the toggle, custom
validators, and ``chatops policy`` from a shell."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from chatops.config.approvals import ActionType, ApprovalsConfig, Rule
from chatops.services.approvals.policy import Policy
from tests.conftest import make_settings


def verdict(policy: Policy, kind: str, **data: Any) -> str:
    return policy.decide(kind, data).decision


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        "config/.env",
        "prod.env",
        "secrets/api.txt",
        "a/b/server.key",
        "src/../.env",
        "./.env",
        "src//x/../../prod.env",
        "my_secret.txt",
    ],
)
def test_blocked_paths_whatever_their_spelling(path: str) -> None:
    decision = Policy(ApprovalsConfig()).decide("file_write", {"file_path": path})
    assert decision.decision == "deny" and decision.rule == "file_write"


@pytest.mark.parametrize("path", ["src/main.py", "README.md", "docs/environment.md", "envoy.py"])
def test_ordinary_paths_are_accepted(path: str) -> None:
    assert verdict(Policy(ApprovalsConfig()), "file_write", file_path=path) == "accept"


def test_workspace_root_and_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "work"
    (root / "src").mkdir(parents=True)
    (root / "out").symlink_to(tmp_path)  # a symlink that leads out of the workspace
    policy = Policy(ApprovalsConfig(workspace_root=root))
    assert verdict(policy, "file_write", file_path="src/a.py") == "accept"
    for escape in ("../x.py", "/etc/passwd", "out/x.py", "src/../../x.py"):
        decision = policy.decide("file_write", {"file_path": escape})
        assert decision.decision == "deny" and "outside the workspace" in decision.reason


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home directory of the test's own, with chatops's config and state in it."""
    home = tmp_path / "home"
    (home / "project").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    return home


PROTECTED = [
    "/etc/passwd",
    "/etc/sudoers.d/agent",
    "/usr/local/bin/git",
    "/boot/grub/grub.cfg",
    "/dev/sda",
    "/proc/self/mem",
    "/sys/kernel/x",
    "~/.ssh/authorized_keys",
    "~/.aws/credentials",
    "~/.gnupg/pubring.kbx",
    "~/.bashrc",
    "~/.profile",
    "~/.zshrc",
    "~/.bash_profile",
    "~/.config/fish/config.fish",
    "~/.config/gh/hosts.yml",
    "~/.config/someapp/api_token.json",
    "~/.config/someapp/credentials",
    "~/.netrc",
    "~/.git-credentials",
    "~/.claude/settings.json",
    "~/project/.claude/settings.json",
    "~/.config/chatops/config.yaml",
    "~/.local/state/chatops/chatops.db",
]
"""System, credential and start-up locations, and the agent's and chatops's own settings."""


def _everything_allowed(**config: Any) -> ApprovalsConfig:
    rule = Rule(allowed_patterns=["**", "/**"], blocked_patterns=[], max_file_size_mb=None)
    return ApprovalsConfig(rules={ActionType.FILE_WRITE: rule}, **config)


@pytest.mark.parametrize("target", PROTECTED)
def test_protected_places_are_denied_whatever_the_rules_say(home: Path, target: str) -> None:
    absolute = target.replace("~", str(home), 1)
    project = home / "project"
    for config, data in (
        (_everything_allowed(), {"file_path": absolute, "cwd": str(project)}),
        (_everything_allowed(), {"file_path": target, "cwd": str(home)}),  # home as workspace
        (_everything_allowed(), {"file_path": absolute}),  # no workspace at all
        (_everything_allowed(workspace_root=home), {"file_path": absolute}),
        (_everything_allowed(workspace_root=Path("/")), {"file_path": absolute}),
    ):
        decision = Policy(config).decide("file_write", data)
        assert decision.decision == "deny", (config.workspace_root, data, decision)


def test_a_link_in_the_workspace_cannot_lead_to_a_protected_place(home: Path) -> None:
    (home / ".ssh").mkdir()
    (home / "project" / "keys").symlink_to(home / ".ssh")
    policy = Policy(ApprovalsConfig(workspace_root=home))
    decision = policy.decide("file_write", {"file_path": "project/keys/authorized_keys"})
    assert decision.decision == "deny" and ".ssh" in decision.reason
    assert verdict(policy, "file_write", file_path="project/src/a.py") == "accept"


def test_without_a_root_the_actions_cwd_is_the_workspace(home: Path) -> None:
    project = str(home / "project")
    policy = Policy(ApprovalsConfig())
    assert verdict(policy, "file_write", file_path=f"{project}/src/a.py", cwd=project) == "accept"
    assert verdict(policy, "file_write", file_path="src/a.py", cwd=project) == "accept"
    for escape in ("../other/a.py", f"{home}/other/a.py", "/opt/tool/a.py", "/tmp/x.py"):
        decision = policy.decide("file_write", {"file_path": escape, "cwd": project})
        assert decision.decision == "deny" and "outside the workspace" in decision.reason
    # cwd that is no workspace (relative, the root) is ignored: nothing is known, nothing given
    for cwd in ("project", "/", None):
        assert verdict(policy, "file_write", file_path="/opt/tool/a.py", cwd=cwd) == "confirm"


def test_without_any_workspace_absolute_paths_and_escapes_are_never_accepted(home: Path) -> None:
    policy = Policy(ApprovalsConfig())
    assert verdict(policy, "file_write", file_path="/opt/tool/a.py") == "confirm"
    assert verdict(policy, "file_write", file_path="src/../../a.py") == "deny"
    assert verdict(policy, "file_write", file_path="..") == "deny"
    assert verdict(policy, "file_write", file_path="src/a.py") == "accept"


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"content": "x"},
        {"file_path": ""},
        {"file_path": None},
        {"file_path": 7},
        {"file_path": "a.py", "file_size": -1},
        {"file_path": "a.py", "file_size": "10"},
        {"file_path": "a.py", "file_size": float("nan")},
        {"file_path": "a.py", "file_size": float("inf")},
        {"file_path": "a.py", "file_size": True},
        {"file_path": "a.py", "file_size": [1]},
        {"file_path": "a.py", "file_size": 2**60},
    ],
)
def test_an_invalid_file_write_is_never_accepted(data: dict[str, Any]) -> None:
    decision = Policy(_everything_allowed()).decide("file_write", data)
    assert decision.decision == "deny", decision


def test_a_small_size_claim_cannot_hide_a_large_content() -> None:
    big = "x" * (11 * 2**20)
    decision = Policy(ApprovalsConfig()).decide(
        "file_write", {"file_path": "a.txt", "content": big, "file_size": 1}
    )
    assert decision.decision == "deny" and "over the 10 MB limit" in decision.reason


def test_size_from_file_size_or_content() -> None:
    policy = Policy(ApprovalsConfig())
    assert verdict(policy, "file_write", file_path="a.bin", file_size=11 * 2**20) == "deny"
    assert verdict(policy, "code_generation", content="x" * (6 * 2**20)) == "deny"
    assert verdict(policy, "code_generation", content="x" * 100) == "accept"


def test_the_toggle_and_the_seed_terminal_rule() -> None:
    policy = Policy(ApprovalsConfig())
    assert verdict(policy, "terminal_command", command="ls -la") == "confirm"  # seed: not auto
    assert verdict(policy, "terminal_command", command="rm -rf /") == "deny"
    assert verdict(policy, "terminal_command", command="echo $((1+") == "confirm"
    off = Policy(ApprovalsConfig(auto_accept=False))
    assert verdict(off, "code_review") == "confirm"
    assert verdict(off, "file_write", file_path=".env") == "deny"  # blocked stays blocked
    assert verdict(policy, "nope") == "deny"


def test_allowed_and_blocked_command_patterns() -> None:
    rules = {
        ActionType.TERMINAL_COMMAND: Rule(
            allowed_patterns=["git status*", "ls*", "pytest*"], blocked_patterns=["docker rm*"]
        )
    }
    policy = Policy(ApprovalsConfig(rules=rules))
    assert verdict(policy, "terminal_command", command="ls -la && pytest -q") == "accept"
    assert verdict(policy, "terminal_command", command="ls; make deploy") == "confirm"
    assert verdict(policy, "terminal_command", command="sudo docker rmi x") == "deny"


def refuse_large_diffs(action_type: str, data: dict[str, Any]) -> str | None:
    return "diff too large" if len(data.get("content", "")) > 10 else None


def broken_validator(action_type: str, data: dict[str, Any]) -> bool:
    raise RuntimeError("boom")


def test_custom_validators_veto_and_a_broken_one_denies() -> None:
    here = "tests.services.test_policy"
    good = Rule(custom_validator=f"{here}.refuse_large_diffs")
    policy = Policy(ApprovalsConfig(rules={ActionType.CODE_REVIEW: good}))
    assert verdict(policy, "code_review", content="short") == "accept"
    assert policy.decide("code_review", {"content": "x" * 50}).reason == "diff too large"
    broken = Rule(custom_validator=f"{here}.broken_validator")
    decision = Policy(ApprovalsConfig(rules={ActionType.CODE_REVIEW: broken})).decide(
        "code_review", {}
    )
    assert decision.decision == "deny" and "boom" in decision.reason


def chatops(
    workdir: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    config = workdir / "policy.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "monitoring": {
                    "socket_path": str(workdir / "m.sock"),
                    "database_path": str(workdir / "c.db"),
                }
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS_")}
    return subprocess.run(
        [sys.executable, "-m", "chatops.cli", "--config", str(config), "policy", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_chatops_policy_check_batch_and_show(workdir: Path) -> None:
    done = chatops(
        workdir,
        "check",
        "--type",
        "terminal_command",
        "--data",
        json.dumps({"command": "sudo rm -fr ~"}),
    )
    assert done.returncode == 0
    answer = json.loads(done.stdout)
    assert answer["decision"] == "deny" and answer["rule"] == "terminal_command"
    assert chatops(workdir, "check", "--type", "file_write", "--data", "[1]").returncode == 2
    lines = "\n".join(
        [
            json.dumps({"type": "file_write", "data": {"file_path": "a.py"}}),
            "not json",
            json.dumps({"type": "terminal_command", "data": {"command": "git push --force"}}),
        ]
    )
    batch = chatops(workdir, "check", "--batch", "-", stdin=lines)
    decisions = [json.loads(line) for line in batch.stdout.splitlines()]
    assert [d.get("decision") for d in decisions] == ["accept", None, "deny"]
    assert decisions[1] == {"line": 2, "error": "not a {type, data} JSON object"}
    shown = json.loads(chatops(workdir, "show").stdout)
    assert shown["rules"]["file_write"]["blocked_patterns"] == ["*.env", "*.key", "*secret*"]


def test_chatops_policy_without_a_database_says_it_had_the_file_only(workdir: Path) -> None:
    alone = chatops(workdir, "show")
    assert "policy only" in alone.stderr and f"no database at {workdir / 'c.db'}" in alone.stderr
    assert json.loads(alone.stdout)["source"].startswith("the configuration only")
    alone = chatops(workdir, "check", "--type", "file_write", "--data", '{"file_path": "a.py"}')
    assert json.loads(alone.stdout)["decision"] == "accept" and "policy only" in alone.stderr


@pytest.fixture(params=["running", "stopped"])
async def runtime_changes(
    request: pytest.FixtureRequest, workdir: Path, start_controller: Any
) -> None:
    """The toggle (off, by alice), a rule changed from Discord (by bob) and a grant (by carol),
    saved by a controller that is still running, or has stopped since."""
    ctl = await start_controller(make_settings(workdir, database_path=workdir / "c.db"))
    approvals = ctl.services.approvals
    approvals.controls.toggle(False, by="alice")
    approvals.controls.update_rule(
        "terminal_command", {"blocked_patterns": ["make deploy*"]}, by="bob"
    )
    approvals.grants.add("coder", "file_write", by="carol", seconds=3600)
    await ctl.store.flush()
    if request.param == "stopped":
        await ctl.stop()


@pytest.mark.usefixtures("runtime_changes")
def test_chatops_policy_show_has_the_runtime_changes(workdir: Path) -> None:
    shown = chatops(workdir, "show")
    assert shown.stderr == ""
    body = json.loads(shown.stdout)
    assert body["source"].startswith("the configuration, with the runtime changes")
    assert body["auto_accept"] is False
    assert body["rules"]["terminal_command"]["blocked_patterns"] == ["make deploy*"]
    assert set(body["runtime_changes"]) == {"auto_accept", "rule:terminal_command"}
    assert body["runtime_changes"]["auto_accept"]["by"] == "alice"
    [grant] = body["grants"]
    assert (grant["agent"], grant["action_type"], grant["by"]) == ("coder", "file_write", "carol")


@pytest.mark.usefixtures("runtime_changes")
def test_chatops_policy_check_applies_the_runtime_changes(workdir: Path) -> None:
    one = chatops(workdir, "check", "--type", "file_write", "--data", '{"file_path": "a.py"}')
    assert json.loads(one.stdout) == {
        "decision": "confirm",
        "reason": "auto-accept is off",
        "rule": "file_write",
        "granted_to": ["coder"],
    }


@pytest.mark.usefixtures("runtime_changes")
def test_chatops_policy_check_batch_applies_the_runtime_changes(workdir: Path) -> None:
    batch = "\n".join(
        json.dumps(item)
        for item in (
            {"type": "file_write", "data": {"file_path": "a.py"}},
            {"type": "file_write", "data": {"file_path": "a.py"}, "agent": "coder"},
            {"type": "file_write", "data": {"file_path": "a.py"}, "agent": "other"},
            {"type": "terminal_command", "data": {"command": "make deploy prod"}},
        )
    )
    decided = [
        json.loads(line)
        for line in chatops(workdir, "check", "--batch", "-", stdin=batch).stdout.splitlines()
    ]
    assert [d["decision"] for d in decided] == ["confirm", "accept", "confirm", "deny"]
    assert decided[1]["via"] == "grant" and "grant #1 by carol" in decided[1]["reason"]
    assert "make deploy" in decided[3]["reason"]


async def test_a_rule_changed_at_runtime_cannot_name_a_validator_that_does_not_import(
    workdir: Path, start_controller: Any
) -> None:
    ctl = await start_controller(make_settings(workdir))
    approvals = ctl.services.approvals
    with pytest.raises(ValueError, match="custom_validator: cannot import no_such_module"):
        approvals.controls.update_rule("code_review", {"custom_validator": "no_such_module.check"})
    assert approvals.config.rules[ActionType.CODE_REVIEW].custom_validator is None
    here = "tests.services.test_policy.refuse_large_diffs"
    assert approvals.controls.update_rule(
        "code_review", {"custom_validator": here}
    ).custom_validator


@pytest.mark.parametrize("relative", [".bashrc", ".ssh/authorized_keys", ".config/gh/hosts.yml"])
def test_a_relative_path_with_no_workspace_is_judged_as_if_in_home(
    home: Path, relative: str
) -> None:
    decision = Policy(_everything_allowed()).decide("file_write", {"file_path": relative})
    assert decision.decision == "deny", decision


@pytest.mark.parametrize("cwd", ["~", "/", "/opt", "~/..", "~/.ssh"])
def test_a_cwd_too_wide_to_be_a_workspace_is_none(home: Path, cwd: str) -> None:
    """A client says what its cwd is: its home, the root, a top-level directory, anything above
    home or a protected place would make every path "inside the workspace"."""
    where = cwd.replace("~", str(home), 1)
    target = f"{home}/.config/systemd/user/evil.service"
    decision = Policy(ApprovalsConfig()).decide("file_write", {"file_path": target, "cwd": where})
    assert decision.decision == "confirm", decision


@pytest.mark.parametrize(
    "inside", [".git/config", ".git/hooks/pre-commit", "sub/.git/hooks/post-checkout", ".envrc"]
)
def test_what_git_or_direnv_would_run_is_denied(home: Path, inside: str) -> None:
    project = home / "project"
    data = {"file_path": f"{project}/{inside}", "cwd": str(project)}
    decision = Policy(_everything_allowed()).decide("file_write", data)
    assert decision.decision == "deny", decision
    ordinary = {"file_path": f"{project}/.git-blame-ignore-revs", "cwd": str(project)}
    assert Policy(_everything_allowed()).decide("file_write", ordinary).decision == "accept"


def test_a_path_with_a_nul_byte_is_denied_not_a_crash(home: Path) -> None:
    project = str(home / "project")
    decision = Policy(ApprovalsConfig()).decide(
        "file_write", {"file_path": f"{project}/a\0b", "cwd": project}
    )
    assert decision.decision == "deny" and "NUL" in decision.reason
