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

from chatops.runtime.controller import Controller
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
    answers: dict[str, list[Any]] = {}
    for line in out.decode().splitlines():
        item = json.loads(line)
        answers.setdefault(item["call"], []).append(item["answer"])
    return answers


async def test_every_orchestrator_call_is_served(workdir: Path, start_controller: Any) -> None:
    settings = make_settings(workdir)
    settings.recovery.admin_agents = ["orchestrator"]
    ctl: Controller = await start_controller(settings)
    answers = await run_example(settings)
    assert set(answers) == CALLS
    dashboard = answers["get_dashboard_data"][0]
    assert dashboard["fleet"]["by_status"] == {"online": 1} and dashboard["cache"]["count"] == 1
    assert [a["name"] for a in answers["get_agents_summary"][0]] == ["Coder"]
    assert answers["auto_clean_cache"][0]["kind"] == "clean"
    assert answers["toggle_auto_accept"] == [False, True]
    assert ctl.services.approvals.config.auto_accept is True
    assert {c["name"] for c in answers["run_diagnostics"][0]} >= {"socket", "database", "scheduler"}
    assert answers["health_check"][0]["status"] in ("ok", "degraded")
    assert answers["get_system_metrics"][0]["controller"]["pid"] == os.getpid()
    assert answers["clear_cache"][0]["removed"] == ["demo-task"]
    assert answers["get_cache_entries"][0][0]["task_id"] == "demo-task"


async def test_admin_calls_need_recovery_admin_agents(workdir: Path, start_controller: Any) -> None:
    settings = make_settings(workdir)
    ctl: Controller = await start_controller(settings)
    answers = await run_example(settings)
    assert answers["toggle_auto_accept"] == [None, None]  # refused
    assert answers["clear_cache"] == [{}] and answers["auto_clean_cache"] == [{}]
    assert ctl.services.approvals.config.auto_accept is True
    assert "demo-task" in ctl.services.cache.entries
    assert answers["get_dashboard_data"][0]["fleet"]["bots"] == 1  # the rest is served
