"""A real Prometheus scraping a real controller every second, and the shipped rules, scrape
config and Grafana dashboard checked by Prometheus's own tools."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ControllerProcess, kill_quietly, spawn_bot
from tests.real_programs import Program, free_port, need

DOCS = Path(__file__).resolve().parent.parent / "docs"
RULES = DOCS / "prometheus" / "chatops-rules.yml"
DASHBOARD = DOCS / "grafana" / "chatops-dashboard.json"


def promql(base: str, query: str) -> list[dict[str, Any]]:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def eventually(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll ``check`` until it returns something truthy (a real Prometheus takes its scrapes)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g}s: {what}")
        time.sleep(0.2)


def dashboard_queries() -> list[str]:
    queries = []
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        queries += [target["expr"] for target in panel.get("targets", [])]
    return queries


def test_a_real_prometheus_reads_tokens_by_type_and_a_killed_bot_down(
    workdir: Path, controller_process: Callable[..., ControllerProcess]
) -> None:
    prometheus = need("prometheus")
    http_port = free_port()
    ctl = controller_process({"http": {"listen": f"127.0.0.1:{http_port}"}})
    ctl.start()
    web_port = free_port()
    config = workdir / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "scrape_configs": [
                    {
                        "job_name": "chatops",
                        "static_configs": [{"targets": [f"127.0.0.1:{http_port}"]}],
                    }
                ],
            }
        )
    )
    server = Program(
        [
            prometheus,
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{web_port}",
        ],
        workdir / "prometheus.log",
        f"http://127.0.0.1:{web_port}/-/ready",
    ).start()
    base = f"http://127.0.0.1:{web_port}"
    bots = []
    try:
        # Each bot logs one call of 150 input and 80 output tokens to deepseek-chat.
        for name in ("b1", "b2"):
            bot = spawn_bot("simple_bot.py", str(ctl.socket_path), name, "1")
            bots.append(bot)
            assert bot.stdout is not None and bot.stdout.readline().strip() == b"READY"

        def tokens() -> dict[str, float] | None:
            rows = promql(
                base,
                'sum by (gen_ai_token_type) (gen_ai_client_token_usage_sum{gen_ai_request_model="deepseek-chat"})',
            )
            found = {row["metric"]["gen_ai_token_type"]: float(row["value"][1]) for row in rows}
            return found if found == {"input": 300.0, "output": 160.0} else None

        eventually(tokens, "300 input and 160 output tokens")
        eventually(lambda: promql(base, 'chatops_bot_up{bot="b1"} == 1'), "b1 up")

        killed_at = time.time()
        bots[0].kill()
        bots[0].wait(10)
        eventually(lambda: promql(base, 'chatops_bot_up{bot="b1"} == 0'), "b1 down")
        # Every scrape Prometheus took after the kill, in its own timeline: the first may
        # still have read 1 (it raced the kill), the second reads 0.
        [series] = promql(base, 'chatops_bot_up{bot="b1"}[1m]')
        after = [float(v) for ts, v in series["values"] if float(ts) > killed_at]
        first_zero = after.index(0.0)
        assert first_zero <= 1, after

        # Every dashboard query parses in this Prometheus (its HTTP API refuses one that does
        # not) and the rules load in it.
        for query in dashboard_queries():
            promql(base, query.replace("$job", ".*"))
        for group in yaml.safe_load(RULES.read_text())["groups"]:
            for rule in group["rules"]:
                promql(base, rule["expr"])
    finally:
        for bot in bots:
            kill_quietly(bot)
        server.stop()
        ctl.stop()


def test_promtool_checks_and_unit_tests_the_shipped_rules_and_scrape_config() -> None:
    promtool = need("promtool")
    folder = DOCS / "prometheus"
    for args in (
        ["check", "rules", "chatops-rules.yml"],
        ["test", "rules", "chatops-rules.test.yml"],
        ["check", "config", "prometheus.yml"],
    ):
        done = subprocess.run(
            [promtool, *args], cwd=folder, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0 and "SUCCESS" in done.stdout, done.stdout + done.stderr


def test_the_rules_have_unit_tests_for_every_alert() -> None:
    alerts = {
        rule["alert"]
        for group in yaml.safe_load(RULES.read_text())["groups"]
        for rule in group["rules"]
    }
    tests = yaml.safe_load((DOCS / "prometheus" / "chatops-rules.test.yml").read_text())
    tested = {
        case["alertname"]
        for test in tests["tests"]
        for case in test["alert_rule_test"]
        if case.get("exp_alerts")
    }
    assert {
        "ChatopsBotDown",
        "ChatopsBotStale",
        "ChatopsQuotaCritical",
        "ChatopsControllerAbsent",
        "ChatopsHostDown",
    } <= alerts
    assert alerts == tested


METRIC_NAME = re.compile(r"\b((?:chatops|gen_ai|process)_[a-z0-9_]+)\b")


@pytest.mark.asyncio
async def test_every_dashboard_and_rule_query_names_a_metric_the_scrape_exposes(
    workdir: Path, start_controller: Any
) -> None:
    from tests.test_metrics import scrape_of_everything

    text, _ = await scrape_of_everything(workdir, start_controller)
    exposed = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            exposed.add(name)
            if kind == "histogram":
                exposed |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
        elif line and not line.startswith("#"):
            exposed.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    queries = dashboard_queries() + [
        rule["expr"]
        for group in yaml.safe_load(RULES.read_text())["groups"]
        for rule in group["rules"]
    ]
    labels = set(re.findall(r"[{,]([a-z_]+)=", text))
    named = {name for query in queries for name in METRIC_NAME.findall(query)} - labels
    assert named, "the queries name no metric"
    assert named <= exposed, sorted(named - exposed)
    dashboard = json.loads(DASHBOARD.read_text())
    # Import asks for the data source the panels name, as Grafana exports a dashboard.
    assert [i["name"] for i in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
    sources = {
        target["datasource"]["uid"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    }
    assert sources == {"${DS_PROMETHEUS}"}
    panels = {panel["title"] for panel in dashboard["panels"]}
    for section in (
        "Fleet",
        "Resources",
        "LLM tokens and cost",
        "Quotas",
        "Approvals",
        "Alerts and deliveries",
    ):
        assert section in panels
