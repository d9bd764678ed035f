"""Approvals end to end: an agent subprocess asks through the client library, the prompt is
posted in the approval channel of the loopback fake Discord, and the real discord.py bot
handles the clicks (refusals, approve, deny with a reason from a modal, grants, a timeout,
concurrent clicks, a restart with a prompt pending)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from chatops.config import Settings
from chatops.discord.bot import ChatOpsBot
from tests.conftest import (
    Running,
    fake_discord,
    kill_quietly,
    query,
    spawn_bot,
    start_bot,
    wait_for,
)
from tests.fake_discord import (
    ADMIN_USER_ID,
    APPROVAL_CHANNEL_ID,
    APPROVER_USER_ID,
    MEMBER_USER_ID,
    SECOND_APPROVER_USER_ID,
    FakeDiscord,
)

PUSH = {"command": "git push origin main"}


class Agent:
    """The agent subprocess: one request per line in, one answer per line out."""

    def __init__(self, settings: Settings, name: str = "coder") -> None:
        self.proc = spawn_bot(
            "approval_agent.py", str(settings.monitoring.socket_path), name, stdin=subprocess.PIPE
        )

    async def _line(self, timeout: float = 30) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(self.proc.stdout.readline), timeout)
        assert line, self.proc.stderr.read().decode() if self.proc.stderr else "agent exited"
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def ready(self) -> None:
        assert (await self._line())["ready"]

    def ask(self, data: dict[str, Any], kind: str = "terminal_command", **extra: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"type": kind, "data": data, **extra}).encode() + b"\n")
        self.proc.stdin.flush()

    async def answer(self, timeout: float = 30) -> dict[str, Any]:
        return await self._line(timeout)

    def stop(self) -> None:
        kill_quietly(self.proc)


def approval_settings(settings: Settings) -> Settings:
    settings.discord.approval_channel_id = int(APPROVAL_CHANNEL_ID)
    settings.approvals.approver_user_ids = [int(APPROVER_USER_ID), int(SECOND_APPROVER_USER_ID)]
    return settings


def prompts(fake: FakeDiscord) -> list[dict[str, Any]]:
    return fake.channel_posts(APPROVAL_CHANNEL_ID)


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The prompt's buttons by action (approve, deny, session, always)."""
    return {
        button["custom_id"].rsplit(":", 1)[1]: button
        for row in message["components"]
        for button in row["components"]
    }


async def new_prompt(fake: FakeDiscord, count: int) -> dict[str, Any]:
    await wait_for(lambda: len(prompts(fake)) >= count, timeout=20)
    return prompts(fake)[count - 1]


def outcome(message: dict[str, Any]) -> str:
    [embed] = message["embeds"]
    return next(f["value"] for f in embed["fields"] if f["name"] == "Outcome")


@pytest.fixture
async def asking(workdir: Path) -> AsyncIterator[tuple[Running, Agent]]:
    """The real bot with an approval channel and two approvers, and an agent ready to ask."""
    async with fake_discord(workdir) as (fake, settings):
        bot, task = await start_bot(approval_settings(settings), fake)
        agent = Agent(settings)
        try:
            await agent.ready()
            yield Running(fake, bot, settings), agent
        finally:
            agent.stop()
            await _close(bot, task)


async def asked(running: Running, agent: Agent) -> dict[str, Any]:
    """The agent asks to push to main; the prompt posted for it."""
    agent.ask(PUSH)
    return await new_prompt(running.fake, len(prompts(running.fake)) + 1)


async def test_the_prompt_says_who_asks_what_and_why(asking: tuple[Running, Agent]) -> None:
    prompt = await asked(*asking)
    [embed] = prompt["embeds"]
    assert "coder" in embed["description"] and "git push origin main" in embed["description"]
    why = next(field for field in embed["fields"] if field["name"] == "Why it asks")
    assert why["value"] == (
        "auto\\-accept is off for terminal\\_command \\(approvals.rules.terminal\\_command.enabled "
        "is false\\) (rule `terminal_command`)"
    )
    assert any(f["name"] == "Expires" and "<t:" in f["value"] for f in embed["fields"])
    ids = buttons(prompt)
    assert set(ids) == {"approve", "edit", "deny", "session", "always"}
    assert ids["session"]["label"] == "Approve for this agent (30 min)"


async def test_a_member_and_a_non_admin_are_refused(asking: tuple[Running, Agent]) -> None:
    running, agent = asking
    service = running.bot.services.approvals
    prompt = await asked(running, agent)
    ids = buttons(prompt)
    [pending] = service.pending()
    # The prompt is all the channel shows: the request's alert is for webhooks (this bot has
    # none), so not even a row of the outbox is for the alert channel.
    await running.bot.controller.store.flush()
    announced = query(
        running.settings.monitoring.database_path,
        "SELECT sink FROM alert_outbox WHERE payload_json LIKE '%approval_requested%'",
    )
    assert announced == []

    refused = await running.click(prompt, ids["approve"]["custom_id"], user_id=MEMBER_USER_ID)
    assert refused["type"] == 4 and refused["data"]["flags"] == 64
    assert "approvers" in refused["data"]["content"] and pending.pending
    not_admin = await running.click(prompt, ids["always"]["custom_id"], user_id=APPROVER_USER_ID)
    assert not_admin["data"]["flags"] == 64 and "admin" in not_admin["data"]["content"]
    assert pending.pending and service.grants.active() == []


async def test_an_approvers_click_answers_the_waiting_agent(asking: tuple[Running, Agent]) -> None:
    running, agent = asking
    prompt = await asked(running, agent)
    [pending] = running.bot.services.approvals.pending()
    approve = buttons(prompt)["approve"]["custom_id"]
    approved = await running.click(prompt, approve, user_id=APPROVER_USER_ID)
    # The call that was waiting returns with the click's decision (not a timeout's).
    answer = await agent.answer()
    assert answer["decision"] == "approve" and answer["request"] == pending.id
    assert (answer["via"], answer["decided_by"]) == ("discord", "user403")  # the approver
    assert approved["type"] == 7
    assert {b["disabled"] for b in buttons(approved["data"]).values()} == {True}
    assert "Approved by" in outcome(approved["data"])
    assert "Approved by" in outcome(running.fake.messages[prompt["id"]])  # edited in place


async def test_deny_sends_the_modals_reason_to_the_agent(asking: tuple[Running, Agent]) -> None:
    running, agent = asking
    fake = running.fake
    prompt = await asked(running, agent)
    deny = buttons(prompt)["deny"]["custom_id"]
    modal = await running.click(prompt, deny, user_id=APPROVER_USER_ID)
    assert modal["type"] == 9
    submitted = await fake.submit_modal(
        modal["data"],
        {"Reason (sent back to the agent)": "push to a branch instead"},
        message=prompt,
        user_id=APPROVER_USER_ID,
    )
    edited = await fake.wait_callback(submitted)
    answer = await agent.answer()
    assert answer["decision"] == "deny" and answer["reason"] == "push to a branch instead"
    assert edited["type"] == 7 and "push to a branch instead" in outcome(edited["data"])


async def test_two_approvers_clicking_at_once_make_one_decision(
    asking: tuple[Running, Agent],
) -> None:
    running, agent = asking
    fake = running.fake
    prompt = await asked(running, agent)
    [record] = running.bot.services.approvals.pending()
    ids = buttons(prompt)
    first, second = await asyncio.gather(
        fake.click(prompt, ids["approve"]["custom_id"], user_id=APPROVER_USER_ID),
        fake.click(prompt, ids["approve"]["custom_id"], user_id=SECOND_APPROVER_USER_ID),
    )
    answers = [await fake.wait_callback(first), await fake.wait_callback(second)]
    assert sorted(a["type"] for a in answers) == [4, 7]
    late = next(a for a in answers if a["type"] == 4)
    assert late["data"]["flags"] == 64 and "already approved" in late["data"]["content"]
    assert (await agent.answer())["decision"] == "approve"
    assert len(record.approvers) == 1


async def test_approve_for_this_agent_lets_its_next_request_through(
    asking: tuple[Running, Agent],
) -> None:
    running, agent = asking
    service = running.bot.services.approvals
    prompt = await asked(running, agent)
    session = buttons(prompt)["session"]["custom_id"]
    assert (await running.click(prompt, session, user_id=ADMIN_USER_ID))["type"] == 7
    assert (await agent.answer())["decision"] == "approve"
    # The next matching request passes without a prompt.
    agent.ask({"command": "git push origin feature"})
    through = await agent.answer()
    assert through["decision"] == "approve" and through["via"] == "grant"
    assert len(prompts(running.fake)) == 1
    [grant] = service.grants.active()
    assert grant.agent == "coder" and grant.until is not None


async def test_a_prompt_nobody_answers_times_out_as_a_deny(asking: tuple[Running, Agent]) -> None:
    running, agent = asking
    fake = running.fake
    running.bot.services.approvals.controls.update_rule(
        "terminal_command", {"timeout": 1}, by="test"
    )
    prompt = await asked(running, agent)
    answer = await agent.answer()
    assert answer["decision"] == "deny" and answer["via"] == "timeout"
    await wait_for(lambda: "Timed out" in str(fake.messages[prompt["id"]]["embeds"]))
    assert {b["disabled"] for b in buttons(fake.messages[prompt["id"]]).values()} == {True}


async def test_a_prompt_pending_across_a_restart_keeps_working(workdir: Path) -> None:
    async with fake_discord(workdir) as (fake, settings):
        approval_settings(settings)
        settings.approvals.reattach_grace = 3
        bot, task = await start_bot(settings, fake)
        agent, gone = Agent(settings), Agent(settings, name="gone")
        try:
            await agent.ready()
            await gone.ready()
            agent.ask(PUSH)
            waiting = await new_prompt(fake, 1)
            gone.ask(PUSH)
            abandoned = await new_prompt(fake, 2)
            await bot.close()
            await asyncio.gather(task, return_exceptions=True)
            gone.stop()  # this agent will never ask again
            fake.identified.clear()

            bot, task = await start_bot(settings, fake)
            service = bot.services.approvals
            await wait_for(lambda: service._waiters.get(1))  # the live agent re-attached
            approve = buttons(waiting)["approve"]["custom_id"]
            clicked = await fake.wait_callback(
                await fake.click(waiting, approve, user_id=APPROVER_USER_ID)
            )
            assert clicked["type"] == 7
            answer = await agent.answer()
            assert answer["decision"] == "approve" and answer["request"] == 1

            # The other prompt is closed cleanly once its agent did not come back.
            await wait_for(
                lambda: "did not come back" in str(fake.messages[abandoned["id"]]["embeds"]),
                timeout=20,
            )
            closed = buttons(fake.messages[abandoned["id"]])
            assert {b["disabled"] for b in closed.values()} == {True}
            assert service.records[2].state == "denied"
        finally:
            agent.stop()
            gone.stop()
            await _close(bot, task)


async def _close(bot: ChatOpsBot, task: asyncio.Task[None]) -> None:
    await bot.close()
    await asyncio.gather(task, return_exceptions=True)
