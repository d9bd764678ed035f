"""``chatops policy toggle|rule`` and ``chatops approvals stats`` as real processes against a
controller in this test's loop: what ``/autoaccept toggle|rule|stats`` do, with the service's
rules and its words, through the operator's narrow door."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from chatops.client import MonitorClient
from chatops.composition.controller import Controller
from chatops.config import Settings
from chatops.config.approvals import SocketDecisions
from tests.conftest import automation_settings, make_settings, query, register
from tests.test_approvals_cli import CHATOPS, config_file, in_terminal, run_chatops

OPERATOR = re.compile(r"cli \(uid \d+, pid \d+\)")


def saved(settings: Settings) -> dict[str, str]:
    """The runtime changes on disk, by name: who made each."""
    rows = query(
        settings.monitoring.database_path, "SELECT name, updated_by FROM approval_settings"
    )
    return dict(rows)


async def shown(config: Path) -> dict[str, Any]:
    code, out, err = await run_chatops(config, "policy", "show")
    assert code == 0, err
    policy: dict[str, Any] = json.loads(out)
    return policy


async def test_toggle_off_then_on_and_policy_show_reflects_it(
    workdir: Path, start_controller: Any
) -> None:
    settings = automation_settings(workdir)
    config = config_file(workdir, settings)
    ctl: Controller = await start_controller(settings)
    controls = ctl.services.approvals.controls
    assert controls.config.auto_accept is True

    code, out, err = await run_chatops(config, "policy", "toggle", "off")
    assert code == 0, err
    assert out == "Auto-accept is off: every action that is not blocked waits for a human.\n"
    assert controls.config.auto_accept is False
    assert OPERATOR.fullmatch(saved(settings)["auto_accept"])
    policy = await shown(config)
    assert policy["auto_accept"] is False and "auto_accept" in policy["runtime_changes"]

    code, out, err = await run_chatops(config, "policy", "toggle")  # flips
    assert code == 0 and out.startswith("Auto-accept is on: "), err
    assert controls.config.auto_accept is True
    assert (await shown(config))["auto_accept"] is True


async def test_a_rule_change_is_applied_and_kept_across_a_restart(
    workdir: Path, start_controller: Any
) -> None:
    settings = automation_settings(workdir)
    config = config_file(workdir, settings)
    ctl: Controller = await start_controller(settings)
    code, out, err = await run_chatops(
        config,
        "policy",
        "rule",
        "terminal_command",
        "enabled=false",
        "timeout=120",
        "approvals_required=2",
        "blocked_patterns=docker rm*, kubectl delete*",
    )
    assert code == 0, err
    assert out == (
        "Rule changed: terminal_command · asks a human · timeout 2m 0s · 2 approvers · "
        "blocks docker rm*, kubectl delete*\n"
    ), out
    rule = ctl.services.approvals.config.rules["terminal_command"]
    assert (rule.enabled, rule.timeout, rule.approvals_required) == (False, 120, 2)
    assert rule.blocked_patterns == ["docker rm*", "kubectl delete*"]
    assert OPERATOR.fullmatch(saved(settings)["rule:terminal_command"])
    shown_rule = (await shown(config))["rules"]["terminal_command"]
    assert shown_rule["timeout"] == 120 and shown_rule["enabled"] is False

    await ctl.stop()
    again: Controller = await start_controller(settings)
    kept = again.services.approvals.config.rules["terminal_command"]
    assert kept == rule


async def test_an_invalid_rule_is_refused_with_the_service_s_words(
    workdir: Path, start_controller: Any
) -> None:
    settings = automation_settings(workdir)
    config = config_file(workdir, settings)
    ctl: Controller = await start_controller(settings)
    rules = ctl.services.approvals.config.rules
    before = {kind: rule.model_copy() for kind, rule in rules.items()}
    for argv, words in (
        (("file_write", "timeout=0"), "rule file_write not changed: timeout: "),
        (("file_write", "approvals_required=11"), "approvals_required: "),
        (("file_write", "custom_validator=no_such_pkg.mod.check"), "custom_validator: "),
        (("no_such_type", "enabled=true"), "unknown action type 'no_such_type'"),
    ):
        code, out, err = await run_chatops(config, "policy", "rule", *argv)
        assert code == 1 and out == "", (argv, out, err)
        assert err.startswith("chatops: refused: ") and words in err, (argv, err)
        assert err.count("\n") == 1, err
    assert rules == before and saved(settings) == {}
    # Words that do not read are a usage error, never sent.
    for word in ("enabled=maybe", "timeout=soon", "colour=red", "enabled"):
        code, out, err = await run_chatops(config, "policy", "rule", "file_write", word)
        assert code == 2 and out == "" and err.count("\n") == 1, (word, err)
    assert rules == before


async def test_a_connection_that_registered_a_bot_may_not_change_the_policy(
    workdir: Path, start_controller: Any
) -> None:
    settings = automation_settings(workdir)
    ctl: Controller = await start_controller(settings)
    agent = await register(settings, "el_serda")
    try:
        for request in (
            {"type": "policy_toggle", "enabled": False},
            {"type": "policy_rule", "action_type": "file_write", "changes": {"enabled": False}},
        ):
            reply = await agent.request({"id": request["type"], **request})
            assert reply["ok"] is False and reply["error"]["code"] == "permission_denied", reply
            assert "speaks for a bot or an agent" in reply["error"]["message"]
        config = ctl.services.approvals.config
        assert config.auto_accept is True and config.rules["file_write"].enabled
        assert saved(settings) == {}
        stats = await agent.request({"id": "stats", "type": "approval_stats"})
        assert stats["ok"] and stats["total_actions"] == 0  # reading is anyone's
    finally:
        await agent.close()


async def test_stats_after_a_few_decisions(workdir: Path, start_controller: Any) -> None:
    settings = make_settings(workdir)
    config = config_file(workdir, settings)
    ctl: Controller = await start_controller(settings)
    async with MonitorClient(settings.monitoring.socket_path) as agent:
        for path in ("a.py", "b.py"):
            approved = await agent.request_approval("file_write", {"file_path": path}, agent="w")
            assert approved["decision"] == "approve"
        denied = await agent.request_approval("terminal_command", {"command": "mkfs /dev/sda"})
        assert denied["decision"] == "deny"
    await ctl.store.flush()

    code, out, err = await run_chatops(config, "approvals", "stats", "--days", "7")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[:2] == ["Auto-accept statistics · last 7 days", "Auto-accept is on · 3 requests"]
    assert "  • accepted: 2" in lines and "  • denied: 1" in lines
    assert "  file_write: accepted 2" in lines and "  terminal_command: denied 1" in lines
    assert "Time to decide (humans):" in lines and lines[-1] == "  —"

    code, out, err = await run_chatops(config, "approvals", "stats", "--json")
    assert code == 0, err
    stats = json.loads(out)
    assert stats["total_actions"] == 3 and stats["by_outcome"] == {"accepted": 2, "denied": 1}
    assert stats["by_type"]["file_write"] == {"accepted": 2}
    assert stats["median_decision_ms"] is None and "id" not in stats


async def test_without_a_controller_each_command_says_so_in_one_line(workdir: Path) -> None:
    config = config_file(workdir, make_settings(workdir))
    for argv in (
        ("policy", "toggle", "off"),
        ("policy", "rule", "file_write", "enabled=false"),
        ("approvals", "stats"),
    ):
        code, out, err = await run_chatops(config, *argv)
        assert code == 3 and out == "", (argv, out)
        assert err.startswith("chatops: no controller answers on ") and err.count("\n") == 1, err


async def test_socket_decisions_governs_policy_changes_too(
    workdir: Path, start_controller: Any
) -> None:
    """Loosening the policy decides every request to come: by default (``interactive``) an
    agent's shell tool, which has no terminal, may not do it; a terminal may; ``off`` refuses
    every change over the socket. A refusal changes nothing."""
    settings = make_settings(workdir)
    config = config_file(workdir, settings)
    ctl: Controller = await start_controller(settings)
    controls = ctl.services.approvals.controls
    controls.toggle(False, by="test")
    code, out, err = await run_chatops(config, "policy", "toggle", "on")
    assert code == 1 and "do this from a terminal" in err, (out, err)
    code, out, err = await run_chatops(config, "policy", "rule", "terminal_command", "timeout=5")
    assert code == 1 and "do this from a terminal" in err, (out, err)
    assert controls.config.auto_accept is False
    assert controls.config.rules["terminal_command"].timeout != 5

    code, out = await in_terminal(CHATOPS, "--config", str(config), "policy", "toggle", "on")
    assert code == 0 and "Auto-accept is on" in out, out
    assert controls.config.auto_accept is True

    controls.config.socket_decisions = SocketDecisions.OFF
    code, out = await in_terminal(CHATOPS, "--config", str(config), "policy", "toggle", "off")
    assert code == 1 and "socket_decisions is off" in out, out
    assert controls.config.auto_accept is True
