"""The orchestrator example in examples/ really runs against a controller and gets an answer
to every one of the seed's orchestrator calls; without ``recovery.admin_agents`` the admin
calls are refused."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from chatops.composition.controller import Controller
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[1]
CALLS = {
    "get_dashboard_data",
    "get_agents_summary",
    "get_quota_summary",
    "auto_clean_cache",
    "clear_cache",
    "get_cache_entries",
    "toggle_auto_accept",
    "get_auto_accept_stats",
    "get_recent_actions",
    "run_diagnostics",
    "health_check",
    "get_system_metrics",
}


async def run_example(settings: Any) -> dict[str, list[Any]]:
    """One run: every call's answers by name; it exits 0 and nothing it sends is refused
    but the admin calls (which ``recovery.admin_agents`` decides)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS_")}
    env["CHATOPS_MONITORING__SOCKET_PATH"] = str(settings.monitoring.socket_path)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "examples" / "orchestrator.py"),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    refused = [line for line in err.decode().splitlines() if "refused" in line]
    assert all("is an admin call" in line for line in refused), refused
    answers: dict[str, list[Any]] = {}
    for line in out.decode().splitlines():
        item = json.loads(line)
        answers.setdefault(item["call"], []).append(item["answer"])
    return answers


async def test_every_orchestrator_call_is_served(workdir: Path, start_controller: Any) -> None:
    settings = make_settings(workdir)
    settings.recovery.admin_agents = ["orchestrator"]
    ctl: Controller = await start_controller(settings)
    for _ in range(2):  # and again, as someone trying it out would
        answers = await run_example(settings)
        assert set(answers) == CALLS
        dashboard = answers["get_dashboard_data"][0]
        assert dashboard["fleet"]["by_status"] == {"online": 1}
        assert dashboard["cache"]["count"] == 1
        assert [a["name"] for a in answers["get_agents_summary"][0]] == ["Coder"]
        assert answers["auto_clean_cache"][0]["kind"] == "clean"
        assert answers["toggle_auto_accept"] == [False, True]
        assert ctl.services.approvals.config.auto_accept is True
        checks = {c["name"] for c in answers["run_diagnostics"][0]}
        assert checks >= {"socket", "database", "scheduler"}
        assert answers["health_check"][0]["status"] in ("ok", "degraded")
        assert answers["get_system_metrics"][0]["controller"]["pid"] == os.getpid()
        [task] = [entry["task_id"] for entry in answers["get_cache_entries"][0]]
        assert task.startswith("demo-") and answers["clear_cache"][0]["removed"] == [task]


async def test_admin_calls_need_recovery_admin_agents(workdir: Path, start_controller: Any) -> None:
    settings = make_settings(workdir)
    ctl: Controller = await start_controller(settings)
    for run in (1, 2):  # the first run's entry stays (nobody may clean it): no matter
        answers = await run_example(settings)
        assert answers["toggle_auto_accept"] == [None, None]  # refused
        assert answers["clear_cache"] == [{}] and answers["auto_clean_cache"] == [{}]
        assert ctl.services.approvals.config.auto_accept is True
        assert len(ctl.services.cache.entries) == run
        assert answers["get_dashboard_data"][0]["fleet"]["bots"] == 1  # the rest is served
