"""``/metrics`` and ``/healthz`` on the controller's HTTP listener: what a scrape shows, read
back with prometheus_client's own parser, checked by the real ``promtool``, and the listener's
refusal of a taken port."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from chatops.composition.controller import Controller
from chatops.config import Settings
from chatops.config.http import HttpConfig, MetricsConfig
from chatops.config.quotas import BudgetConfig, QuotasConfig
from tests.conftest import RawClient, http_base, make_settings, register
from tests.real_programs import need

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def http_settings(workdir: Path, **metrics: Any) -> Settings:
    settings = make_settings(workdir)
    settings.http = HttpConfig(listen="127.0.0.1:0")
    settings.metrics = MetricsConfig(**metrics)
    settings.quotas = QuotasConfig(
        budgets=[BudgetConfig(name="daily", limit=1.0, metric="cost", period="day")]
    )
    return settings


async def scrape(ctl: Controller) -> tuple[str, Samples]:
    async with aiohttp.ClientSession() as http, http.get(f"{http_base(ctl)}/metrics") as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await r.text()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    assert key in samples, f"{name}{labels} not in {sorted(k for k in samples if k[0] == name)}"
    return samples[key]


async def populate(ctl: Controller, settings: Settings) -> RawClient:
    """Bots, usage, a quota pool and budget, approvals (one settled, one pending), a cache
    entry: something in every family."""
    client = await register(settings, "alpha", "bravo", rss=64.0)
    for i in range(2):
        reply = await client.request(
            {
                "id": f"u{i}",
                "type": "llm_usage",
                "channel": "alpha",
                "model": "deepseek-chat",
                "feature": "jokes",
                "tokens_in": 150,
                "tokens_out": 80,
                "latency_ms": 1200,
                "estimated_cost": 0.25,
            }
        )
        assert reply["ok"], reply
    reply = await client.request(
        {
            "id": "q",
            "type": "model_usage",
            "model_name": "claude-sonnet",
            "family": "claude",
            "channel": "alpha",
            "pools": [{"name": "five_hour", "used": 40, "limit": 100, "window": "5h"}],
        }
    )
    assert reply["ok"], reply
    reply = await client.request(
        {
            "id": "a1",
            "type": "approval_request",
            "agent": "coder",
            "action_type": "code_review",
            "data": {"path": "src/app.py"},
        }
    )
    assert reply["ok"], reply
    await client.send(
        {
            "id": "a2",
            "type": "approval_request",
            "agent": "coder",
            "action_type": "terminal_command",
            "data": {"command": "ls -la"},
        }
    )
    approvals = ctl.services.approvals
    for _ in range(200):
        if any(record.pending for record in approvals.records.values()):
            break
        await asyncio.sleep(0.01)
    await ctl.services.cache.create_cache_entry("task-1", "claude", {"out.txt": b"x" * 2048})
    ctl.services.cache.finish_cache_entry("task-1")
    await ctl.store.flush()
    return client


async def scrape_of_everything(workdir: Path, start_controller: Any) -> tuple[str, Samples]:
    """A controller with something in every family (:func:`populate`), scraped once: a hub, so
    the hosts' families are there (a hub with no edges is any controller)."""
    settings = http_settings(workdir)
    ctl = await start_controller(settings, role="hub")
    client = await populate(ctl, settings)
    try:
        return await scrape(ctl)
    finally:
        await client.close()


async def test_a_scrape_shows_the_fleet_usage_quotas_approvals_alerts_cache_and_controller(
    workdir: Path, start_controller: Any
) -> None:
    text, samples = await scrape_of_everything(workdir, start_controller)
    host = socket.gethostname()
    bot = {"bot": "alpha", "host": host}
    assert value(samples, "chatops_bot_up", **bot) == 1
    assert value(samples, "chatops_bot_status", status="online", **bot) == 1
    assert value(samples, "chatops_bot_resident_memory_bytes", **bot) == 64 * 1_048_576
    assert value(samples, "chatops_bot_cpu_usage_ratio", **bot) == pytest.approx(0.015)
    assert value(samples, "chatops_bots", status="online") == 2
    assert value(samples, "chatops_bots", status="down") == 0
    model = {
        "gen_ai_request_model": "deepseek-chat",
        "gen_ai_provider_name": "deepseek",
        "gen_ai_operation_name": "chat",
    }
    assert (
        value(samples, "gen_ai_client_token_usage_sum", gen_ai_token_type="input", **model) == 300
    )
    assert (
        value(samples, "gen_ai_client_token_usage_sum", gen_ai_token_type="output", **model) == 160
    )
    assert (
        value(samples, "gen_ai_client_token_usage_count", gen_ai_token_type="input", **model) == 2
    )
    # 150 tokens fall in the spec's 256 bucket, not in the 64 one.
    assert (
        value(
            samples,
            "gen_ai_client_token_usage_bucket",
            gen_ai_token_type="input",
            le="256.0",
            **model,
        )
        == 2
    )
    assert (
        value(
            samples,
            "gen_ai_client_token_usage_bucket",
            gen_ai_token_type="input",
            le="64.0",
            **model,
        )
        == 0
    )
    assert value(samples, "gen_ai_client_operation_duration_seconds_sum", **model) == pytest.approx(
        2.4
    )
    assert value(samples, "chatops_llm_cost_usd_total", **model) == pytest.approx(0.5)
    assert not any(
        name == "gen_ai_client_token_usage_sum" and "bot" in dict(labels)
        for name, labels in samples
    )
    pool = {"quota": "five_hour", "kind": "pool"}
    assert value(samples, "chatops_quota_remaining_ratio", **pool) == pytest.approx(0.6)
    assert value(samples, "chatops_quota_limit", unit="credits", **pool) == 100
    budget = {"quota": "daily", "kind": "budget"}
    assert value(samples, "chatops_quota_remaining_ratio", **budget) == pytest.approx(0.5)
    assert value(samples, "chatops_quota_critical_threshold_ratio", **budget) == pytest.approx(0.1)
    assert (
        value(
            samples,
            "chatops_approval_requests_total",
            action_type="code_review",
            outcome="accepted",
        )
        == 1
    )
    assert value(samples, "chatops_approvals_pending", action_type="terminal_command") == 1
    assert value(samples, "chatops_cache_entries") == 1
    assert value(samples, "chatops_cache_size_bytes") == 2048
    assert value(samples, "chatops_messages_total", type="heartbeat") == 2
    assert value(samples, "chatops_messages_total", type="llm_usage") == 2
    assert value(samples, "chatops_connections") == 1
    assert value(samples, "chatops_degraded") == 0
    assert value(samples, "chatops_store_commit_duration_seconds_count") > 0
    assert ("process_resident_memory_bytes", frozenset()) in samples
    assert "_created" not in text


async def test_llm_usage_by_bot_and_feature_only_when_asked(
    workdir: Path, start_controller: Any
) -> None:
    settings = http_settings(workdir, llm_by_bot=True)
    ctl = await start_controller(settings)
    client = await register(settings, "alpha")
    reply = await client.request(
        {
            "id": 1,
            "type": "llm_usage",
            "channel": "alpha",
            "model": "gpt-4o",
            "feature": "faq",
            "tokens_in": 10,
        }
    )
    assert reply["ok"]
    _, samples = await scrape(ctl)
    await client.close()
    labels = {
        "gen_ai_token_type": "input",
        "gen_ai_request_model": "gpt-4o",
        "gen_ai_provider_name": "openai",
        "gen_ai_operation_name": "chat",
        "bot": "alpha",
        "feature": "faq",
    }
    assert value(samples, "gen_ai_client_token_usage_sum", **labels) == 10


async def test_a_hostile_bot_name_stays_one_label_value(
    workdir: Path, start_controller: Any
) -> None:
    settings = http_settings(workdir)
    ctl = await start_controller(settings)
    name = 'x\\"} 1 chatops_degraded{} 1 <img src=x onerror=alert(1)>'
    client = await register(settings, name)
    _, samples = await scrape(ctl)
    await client.close()
    assert value(samples, "chatops_bot_up", bot=name, host=socket.gethostname()) == 1
    assert value(samples, "chatops_degraded") == 0


async def test_promtool_finds_nothing_in_a_real_scrape(
    workdir: Path, start_controller: Any
) -> None:
    promtool = need("promtool")
    text, _ = await scrape_of_everything(workdir, start_controller)
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60
    )
    findings = (checked.stdout + checked.stderr).decode()
    assert checked.returncode == 0 and not findings.strip(), findings


async def test_healthz_says_ok_then_503_while_the_store_fails(
    workdir: Path, start_controller: Any
) -> None:
    ctl = await start_controller(http_settings(workdir))
    url = f"{http_base(ctl)}/healthz"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as r:
            assert (r.status, await r.text()) == (200, "ok\n")

        def read_only(conn: sqlite3.Connection, on: int) -> None:
            conn.execute(f"PRAGMA query_only = {on}").fetchall()

        await ctl.store.writer.run(lambda conn: read_only(conn, 1))
        client = await RawClient.connect(ctl.settings.monitoring.socket_path)
        reply = await client.request({"id": 1, "type": "llm_usage", "channel": "c", "model": "m"})
        assert reply["error"]["code"] == "storage_error"
        async with http.get(url) as r:
            assert r.status == 503 and "degraded" in await r.text()
        _, samples = await scrape(ctl)
        assert value(samples, "chatops_degraded") == 1
        await ctl.store.writer.run(lambda conn: read_only(conn, 0))
        await client.close()


def test_chatops_run_refuses_a_taken_port_in_one_line(workdir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = workdir / "config.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "monitoring": {
                        "socket_path": str(workdir / "m.sock"),
                        "database_path": str(workdir / "chatops.db"),
                    },
                    "http": {"listen": f"127.0.0.1:{port}"},
                }
            )
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS_")}
        done = subprocess.run(
            [sys.executable, "-m", "chatops.cli", "--config", str(config), "run"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"chatops: http.listen 127.0.0.1:{port}: cannot listen there (address already in use)"
    ], done.stderr
    assert not (workdir / "m.sock").exists()


@pytest.mark.parametrize("listen", ["9464", "localhost", "[zz]:1", "127.0.0.1:99999"])
def test_a_bad_listen_address_is_a_config_error(workdir: Path, listen: str) -> None:
    from chatops.config import load_settings
    from chatops.config_file import ConfigError

    config = workdir / "bad.yaml"
    config.write_text(yaml.safe_dump({"http": {"listen": listen}}))
    with pytest.raises(ConfigError, match=r"http\.listen"):
        load_settings(config)


async def test_alertmanager_posts_and_failures_by_instance_never_show_its_credentials(
    workdir: Path, start_controller: Any
) -> None:
    from pydantic import SecretStr

    settings = http_settings(workdir)
    settings.alerts.alertmanager_urls = [SecretStr("http://am-user:am-secret@127.0.0.1:9/")]
    ctl = await start_controller(settings)
    publisher = ctl.services.alertmanager
    assert publisher is not None
    [instance] = publisher.instances
    for _ in range(500):  # its first post (of nothing yet) fails: nobody listens on port 9
        if instance.failed:
            break
        await asyncio.sleep(0.01)
    text, samples = await scrape(ctl)
    assert value(samples, "chatops_alertmanager_post_failures_total", instance=instance.name) >= 1
    assert value(samples, "chatops_alertmanager_posts_total", instance=instance.name) == 0
    assert "am-secret" not in text and "am-user" not in text


def test_a_bare_port_is_told_to_add_a_host(workdir: Path) -> None:
    from chatops.config import load_settings
    from chatops.config_file import ConfigError

    config = workdir / "port.yaml"
    config.write_text("http:\n  listen: 9464\n")
    with pytest.raises(ConfigError, match=r"9464 is a port alone; write host:port, e\.g\. 127"):
        load_settings(config)


async def test_a_listener_off_loopback_is_warned_about(
    workdir: Path, start_controller: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings = http_settings(workdir)
    settings.http = HttpConfig(listen="0.0.0.0:0")
    await start_controller(settings)
    assert any(
        "is not loopback" in record.getMessage() and record.levelname == "WARNING"
        for record in caplog.records
    )
    caplog.clear()
    await start_controller(http_settings(workdir / "again"))
    assert not any("is not loopback" in record.getMessage() for record in caplog.records)
