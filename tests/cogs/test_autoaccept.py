"""``/autoaccept`` against the loopback fake: the seed's Auto-Accept Manager from Discord."""

from __future__ import annotations

from typing import Any

from chatops.client import MonitorClient
from tests.conftest import Running
from tests.fake_discord import MEMBER_USER_ID


def opt(name: str, value: Any, kind: int = 3) -> dict[str, Any]:
    return {"type": kind, "name": name, "value": value}


async def test_autoaccept_toggle_is_for_admins(running: Running) -> None:
    service = running.bot.services.approvals
    _, refused = await running.slash("autoaccept toggle", user_id=MEMBER_USER_ID)
    assert refused["data"]["flags"] == 64 and service.config.auto_accept is True
    _, toggled = await running.slash("autoaccept toggle", [opt("enabled", False, kind=5)])
    assert "off" in toggled["data"]["content"] and service.config.auto_accept is False


async def test_autoaccept_rule_changes_a_rule_as_typed(running: Running) -> None:
    service = running.bot.services.approvals
    _, changed = await running.slash(
        "autoaccept rule",
        [
            opt("action_type", "terminal_command"),
            opt("approvals_required", 2, kind=4),
            opt("blocked_patterns", "docker rm*, kubectl delete*"),
        ],
    )
    assert "2 approvers" in changed["data"]["content"]
    rule = service.config.rules["terminal_command"]
    assert rule.approvals_required == 2 and rule.blocked_patterns == [
        "docker rm*",
        "kubectl delete*",
    ]


async def test_autoaccept_rule_refuses_no_change_and_a_non_admin(running: Running) -> None:
    service = running.bot.services.approvals
    _, nothing = await running.slash("autoaccept rule", [opt("action_type", "code_review")])
    assert nothing["data"]["flags"] == 64
    _, not_admin = await running.slash(
        "autoaccept rule",
        [opt("action_type", "file_write"), opt("enabled", False, kind=5)],
        user_id=MEMBER_USER_ID,
    )
    assert not_admin["data"]["flags"] == 64 and service.config.rules["file_write"].enabled


async def test_autoaccept_rules_shows_the_state_and_revoke_removes_a_grant(
    running: Running,
) -> None:
    service = running.bot.services.approvals
    service.controls.toggle(False, by="alice")
    service.controls.update_rule(
        "terminal_command", {"blocked_patterns": ["docker rm*", "kubectl delete*"]}, by="alice"
    )
    grant = service.grants.add("w", "terminal_command", by="alice", seconds=None)
    _, rules = await running.slash("autoaccept rules")
    [embed] = rules["data"]["embeds"]
    assert "Auto-accept is **off**" in embed["description"]
    assert "blocks `docker rm*`, `kubectl delete*`" in embed["description"]  # as typed
    assert (
        f"`#{grant.id}`" in embed["fields"][0]["value"] and "always" in embed["fields"][0]["value"]
    )
    _, revoked = await running.slash("autoaccept revoke", [opt("grant", grant.id, kind=4)])
    assert "removed" in revoked["data"]["content"] and service.grants.active() == []
    _, again = await running.slash("autoaccept revoke", [opt("grant", grant.id, kind=4)])
    assert again["data"]["flags"] == 64
    assert again["data"]["content"] == f"No active grant \\#{grant.id}"  # Markdown escaped


async def test_autoaccept_stats_and_recent_count_the_policys_decisions(running: Running) -> None:
    async with MonitorClient(running.settings.monitoring.socket_path) as agent:
        assert (await agent.request_approval("file_write", {"file_path": "a.py"}, agent="w"))[
            "decision"
        ] == "approve"
        denied = await agent.request_approval("terminal_command", {"command": "mkfs /dev/sda"})
        assert denied["decision"] == "deny"

    await running.bot.controller.store.flush()
    _, stats = await running.slash("autoaccept stats")
    [embed] = stats["data"]["embeds"]
    assert "2 requests" in embed["description"]
    assert "accepted: **1**" in embed["fields"][0]["value"]
    assert "denied: **1**" in embed["fields"][0]["value"]
    _, recent = await running.slash("autoaccept recent", [opt("limit", 5, kind=4)])
    [embed] = recent["data"]["embeds"]
    assert "mkfs /dev/sda" in embed["description"] and "a.py" in embed["description"]
