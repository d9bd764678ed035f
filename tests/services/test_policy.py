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

from chatops.services.approvals.config import ActionType, ApprovalsConfig, Rule
from chatops.services.approvals.policy import Policy


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
