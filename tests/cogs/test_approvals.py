"""Approvals end to end: an agent subprocess asks through the client library, the prompt is
posted in the approval channel of the loopback fake Discord, and the real discord.py bot
handles the clicks (refusals, approve, deny with a reason from a modal, grants, a timeout,
concurrent clicks, a restart with a prompt pending)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path
from typing import Any

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


async def test_the_approval_round_trip_in_discord(workdir: Path) -> None:
    async with fake_discord(workdir) as (fake, settings):
        bot, task = await start_bot(approval_settings(settings), fake)
        running = Running(fake, bot, settings)
        agent = Agent(settings)
        try:
            await agent.ready()
            await approve_deny_and_refusals(running, agent)
            await grant_and_timeout(running, agent)
        finally:
            agent.stop()
            await bot.close()
            await asyncio.gather(task, return_exceptions=True)


async def approve_deny_and_refusals(running: Running, agent: Agent) -> None:
    fake, service = running.fake, running.bot.services.approvals
    agent.ask(PUSH)
    prompt = await new_prompt(fake, 1)
    [embed] = prompt["embeds"]
    assert "coder" in embed["description"] and "git push origin main" in embed["description"]
    why = next(field for field in embed["fields"] if field["name"] == "Why it asks")
    assert why["value"] == "auto\\-accept is off for terminal\\_command (rule `terminal_command`)"
    assert any(f["name"] == "Expires" and "<t:" in f["value"] for f in embed["fields"])
    ids = buttons(prompt)
    assert set(ids) == {"approve", "deny", "session", "always"}
    assert ids["session"]["label"] == "Approve for this agent (30 min)"
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

    clicked_at = time.time()
    approved = await running.click(prompt, ids["approve"]["custom_id"], user_id=APPROVER_USER_ID)
    answer = await agent.answer()
    # The bound: the agent's call returns within 1 s of the click.
    assert answer["decision"] == "approve" and answer["at"] - clicked_at < 1.0
    assert approved["type"] == 7
    assert all(b["disabled"] for b in buttons(approved["data"]).values())
    assert "Approved by" in outcome(approved["data"])
    assert "Approved by" in outcome(fake.messages[prompt["id"]])  # edited in place

    agent.ask(PUSH)
    prompt = await new_prompt(fake, 2)
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


async def grant_and_timeout(running: Running, agent: Agent) -> None:
    fake, service = running.fake, running.bot.services.approvals
    agent.ask(PUSH)
    prompt = await new_prompt(fake, 3)
    ids = buttons(prompt)
    # Two approvers click at once: exactly one decision, the other is told.
    first, second = await asyncio.gather(
        fake.click(prompt, ids["approve"]["custom_id"], user_id=APPROVER_USER_ID),
        fake.click(prompt, ids["approve"]["custom_id"], user_id=SECOND_APPROVER_USER_ID),
    )
    answers = [await fake.wait_callback(first), await fake.wait_callback(second)]
    assert sorted(a["type"] for a in answers) == [4, 7]
    late = next(a for a in answers if a["type"] == 4)
    assert late["data"]["flags"] == 64 and "already approved" in late["data"]["content"]
    assert (await agent.answer())["decision"] == "approve"
    assert len(service.records[3].approvers) == 1

    # "Approve for this agent": the next matching request passes without a prompt.
    agent.ask(PUSH)
    prompt = await new_prompt(fake, 4)
    session = buttons(prompt)["session"]["custom_id"]
    assert (await running.click(prompt, session, user_id=ADMIN_USER_ID))["type"] == 7
    assert (await agent.answer())["decision"] == "approve"
    agent.ask({"command": "git push origin feature"})
    through = await agent.answer()
    assert through["decision"] == "approve" and through["via"] == "grant"
    assert len(prompts(fake)) == 4
    [grant] = service.grants.active()
    assert grant.agent == "coder" and grant.until is not None
    service.grants.revoke(grant.id)

    service.controls.update_rule("terminal_command", {"timeout": 1}, by="test")
    before = len(prompts(fake))
    agent.ask(PUSH)
    prompt = await new_prompt(fake, before + 1)
    answer = await agent.answer()
    assert answer["decision"] == "deny" and answer["via"] == "timeout"
    await wait_for(lambda: "Timed out" in str(fake.messages[prompt["id"]]["embeds"]))
    assert all(b["disabled"] for b in buttons(fake.messages[prompt["id"]]).values())


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
            assert all(b["disabled"] for b in buttons(fake.messages[abandoned["id"]]).values())
            assert service.records[2].state == "denied"
        finally:
            agent.stop()
            gone.stop()
            await _close(bot, task)


async def _close(bot: ChatOpsBot, task: asyncio.Task[None]) -> None:
    await bot.close()
    await asyncio.gather(task, return_exceptions=True)
