"""Quotas end to end: an agent process logs usage through the client library, the budget
crosses its thresholds, and exactly one warning and one critical reach the Discord channel (and,
headless, a webhook); /quota shows the bars and /quota detail a PNG chart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from chatops.config import MonitoringConfig, Settings
from chatops.config.quotas import BudgetConfig, QuotasConfig
from tests.conftest import Running, fake_discord, spawn_bot, start_bot, wait_for
from tests.webhook_receiver import WebhookReceiver

PNG = b"\x89PNG\r\n\x1a\n"
BUDGET = QuotasConfig(
    budgets=[BudgetConfig(name="claude-monthly", limit=100, metric="cost", period="month")]
)


async def spend(socket_path: Path, *costs: float) -> None:
    agent = spawn_bot("quota_agent.py", str(socket_path), "agent-1", *map(str, costs))
    out, err = await asyncio.to_thread(agent.communicate, timeout=60)
    assert out.strip() == b"DONE", err.decode()


def quota_posts(running: Running) -> list[str]:
    return [
        embed["title"]
        for message in running.fake.channel_posts()
        for embed in message["embeds"]
        if "budget" in embed.get("title", "")
    ]


@pytest.fixture
async def budget_running(workdir: Path) -> AsyncIterator[Running]:
    """The real bot logged in to the fake, with the ``claude-monthly`` budget of 100 $."""
    async with fake_discord(workdir) as (fake, settings):
        settings.quotas = BUDGET
        bot, task = await start_bot(settings, fake)
        try:
            yield Running(fake, bot, settings)
        finally:
            await bot.close()
            await asyncio.gather(task, return_exceptions=True)


async def test_budget_alerts_reach_the_channel_once_per_crossing(budget_running: Running) -> None:
    running = budget_running
    socket_path = running.settings.monitoring.socket_path
    await spend(socket_path, 40, 35)  # 25 % left
    await wait_for(lambda: quota_posts(running), timeout=20)
    await spend(socket_path, 16)  # 9 % left
    await wait_for(lambda: len(quota_posts(running)) == 2, timeout=20)
    await spend(socket_path, 1)  # still critical: nothing new
    # The spend is committed and its level checked before the agent hears back: a
    # duplicate alert would be in the outbox now, or already posted.
    assert running.bot.controller.services.delivery.pending == []
    assert quota_posts(running) == [
        "🟠 25% left of budget claude\\-monthly",
        "🔴 9% left of budget claude\\-monthly",
    ]


async def test_quota_summary_shows_the_budget_as_a_bar(budget_running: Running) -> None:
    running = budget_running
    await spend(running.settings.monitoring.socket_path, 40, 35, 16, 1)  # 8 % left
    _, summary = await running.slash("quota summary")
    [field] = summary["data"]["embeds"][0]["fields"]
    assert field["name"] == "🔴 claude\\-monthly · budget"
    assert field["value"].splitlines()[0] == "▰▱▱▱▱▱▱▱▱▱ 8% left · 92/100 cost"


async def test_quota_detail_answers_with_a_png_chart(budget_running: Running) -> None:
    running = budget_running
    await spend(running.settings.monitoring.socket_path, 40)
    detail, _ = await running.slash(
        "quota detail", [{"type": 3, "name": "name", "value": "claude-monthly"}]
    )
    followup = await running.fake.wait_followup(detail)
    [chart] = followup["files"]
    assert chart["name"] == "quota.png" and chart["head"] == PNG


async def test_budget_warning_reaches_a_webhook_headless(
    workdir: Path, start_controller: Any
) -> None:
    receiver = await WebhookReceiver().start()
    try:
        settings = Settings(
            monitoring=MonitoringConfig(
                socket_path=workdir / "q.sock", database_path=workdir / "q.db"
            ),
            quotas=BUDGET,
        )
        settings.alerts.webhook_urls = [SecretStr(receiver.url)]
        await start_controller(settings)
        await spend(settings.monitoring.socket_path, 75)
        await wait_for(lambda: receiver.delivered(), timeout=20)
        [alert] = receiver.delivered()
        assert alert["kind"] == "quota_warning" and alert["subject"] == "claude-monthly"
        assert alert["severity"] == "warning" and alert["incident_kind"] == "quota"
        assert alert["title"] == "🟠 25% left of budget claude-monthly"
    finally:
        await receiver.stop()
