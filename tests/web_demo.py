"""A demo fleet for the dashboard's pictures: bots of every status on two hosts, LLM usage over
several models, quota pools and a budget, a pending approval. The screenshot test and
``bench/web_screenshots.py`` (which refreshes the README's pictures) both take them from it, so
the pictures show what the dashboard really draws."""

from __future__ import annotations

import os
from pathlib import Path

from selenium.webdriver.common.by import By

from chatops.composition.controller import Controller
from chatops.config import Settings
from chatops.config.http import HttpConfig
from chatops.config.quotas import BudgetConfig, QuotasConfig
from chatops.records.quotas import PoolReading
from chatops.records.web import Role
from chatops.services.callers import Caller
from chatops.services.quotas.pools import ModelReport
from tests.browser import Browser
from tests.conftest import RawClient, wait_for

BOTS = [
    ("el_serda", "web-1", 182.0, 3.5, {"llm": True, "translator": True}),
    ("kissbot", "web-1", 96.0, 1.2, {"llm": True}),
    ("jokes", "web-1", 64.0, 0.4, {"llm": True, "jokes": True}),
    ("translator-fr", "web-2", 240.0, 12.5, {"translator": True}),
    ("translator-de", "web-2", 236.0, 11.9, {"translator": True}),
    ("moderation", "web-2", 128.0, 2.2, {"llm": True, "moderation": True}),
    ("scheduler", "web-1", 48.0, 0.1, {}),
    ("coder", "web-2", 310.0, 24.0, {"llm": True, "agent": True}),
]
CRASHED = ("music", "web-1", 150.0, 0.0, {"voice": True})
USAGE = [("deepseek-chat", 1500, 800), ("claude-sonnet-4-5", 4200, 1900), ("gpt-4o", 900, 400)]


def demo_settings(settings: Settings) -> Settings:
    settings.http = HttpConfig(listen="127.0.0.1:0")
    settings.quotas = QuotasConfig(
        budgets=[BudgetConfig(name="daily-spend", limit=5.0, metric="cost", period="day")]
    )
    return settings


async def demo_fleet(ctl: Controller) -> RawClient:
    """Fill ``ctl`` with the demo fleet; the client that holds a pending approval request."""
    services = ctl.services
    me = Caller(pid=os.getpid())
    for name, host, rss, cpu, features in BOTS:
        services.fleet.register(me, name, os.getpid(), features, host=host)
        services.fleet.heartbeat(me, name, rss_mb=rss, cpu_pct=cpu)
    gone = Caller(pid=os.getpid())
    name, host, rss, cpu, features = CRASHED
    services.fleet.register(gone, name, os.getpid(), features, host=host)
    services.fleet.heartbeat(gone, name, rss_mb=rss, cpu_pct=cpu)
    services.fleet.connection_lost(gone)  # crashed: down
    for round_ in range(6):
        for bot, (model, tokens_in, tokens_out) in zip(
            ["el_serda", "kissbot", "coder"], USAGE, strict=True
        ):
            services.usage.log_usage(
                me,
                bot,
                model,
                feature="chat",
                tokens_in=tokens_in * (round_ + 1),
                tokens_out=tokens_out,
                latency_ms=900 + 100 * round_,
            )
    services.quotas.report_usage(
        me,
        ModelReport(
            "claude-sonnet-4-5",
            family="claude",
            pools=(
                PoolReading("claude 5-hour", 62, 100, window="5h"),
                PoolReading("claude weekly", 35, 100, window="7d"),
            ),
        ),
        "coder",
    )
    await ctl.store.flush()
    client = await RawClient.connect(ctl.settings.monitoring.socket_path)
    await client.send(
        {
            "id": "ask",
            "type": "approval_request",
            "agent": "release-agent",
            "action_type": "terminal_command",
            "data": {"command": "kubectl rollout restart deploy/api", "cwd": "/srv/app"},
        }
    )
    await wait_for(services.approvals.pending)
    return client


PAGES = {
    "fleet.png": ("/", "#fleet"),
    "bot.png": ("/bot?name=el_serda", "#bot-name"),
    "quotas.png": ("/quotas", "main"),
    "approval.png": ("/approvals", ".approval"),
}


async def take_screenshots(browser: Browser, ctl: Controller, out: Path) -> list[Path]:
    """Sign in as an admin and save each page of :data:`PAGES` as a PNG in ``out``."""
    host, port = ctl.http_addresses[0]
    base = f"http://{host}:{port}"
    token = ctl.services.web_sessions.issue_link("operator", Role.ADMIN)
    await browser.get(f"{base}/login/{token}")
    await browser.call(lambda: browser.driver.find_element(By.ID, "signin").click())
    await browser.until(lambda: browser.driver.find_elements(By.ID, "fleet"), 10, "fleet")
    saved = []
    for filename, (path, ready) in PAGES.items():
        await browser.get(base + path)
        await browser.until(
            lambda ready=ready: browser.driver.find_elements(By.CSS_SELECTOR, ready), 10, path
        )
        target = out / filename
        assert await browser.call(browser.driver.save_screenshot, str(target))
        saved.append(target)
    return saved
