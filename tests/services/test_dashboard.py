"""The agent seed's MonitoringDashboard calls, against a real controller over its socket."""

from __future__ import annotations

import asyncio
import os
from enum import Enum
from typing import Any

from chatops.client import MonitoringDashboard, SyncMonitoringDashboard
from chatops.composition.controller import Controller


class ModelFamily(Enum):  # as the seed declares it
    GEMINI = "gemini"


async def test_the_seed_calls_work_by_changing_the_import(controller: Controller) -> None:
    dashboard = MonitoringDashboard(
        controller.settings.monitoring.socket_path, agent="orchestrator"
    )
    try:
        # Quota pools come only from a registered bot: the orchestrator's.
        assert await dashboard.client.register_with_monitor("orchestrator", os.getpid())
        assert await dashboard.register_agent("Coder", "coder")
        assert await dashboard.update_agent_status("Coder", "processing", current_task="main.py")
        assert await dashboard.increment_agent_tasks("Coder", success=True)
        assert await dashboard.update_model_usage(
            model_name="gemini-3-pro",
            family=ModelFamily.GEMINI,
            thinking_credits=150,
            flow_credits=50,
            thinking_limit=1000,
            flow_limit=500,
        )
        [agent] = await dashboard.get_agents_summary()
        assert agent["name"] == "Coder" and agent["agent_type"] == "coder"
        assert agent["tasks_completed"] == 1 and agent["current_task"] == "main.py"
        quotas = {q["name"]: q for q in await dashboard.get_quota_summary()}
        assert quotas["gemini-3-pro thinking"]["pct_left"] == 85
        assert quotas["gemini-3-pro flow"]["pct_left"] == 90
        trends = await dashboard.get_usage_trends(90)
        assert trends["gemini-3-pro thinking"][0][1] == 85
        # A wrong field is refused before it is sent: False, nothing raised into the agent.
        assert not await dashboard.update_model_usage(model_name="m", thinking_credits=-1)
    finally:
        await dashboard.close()


async def test_the_sync_twin(controller: Controller) -> None:
    def use() -> list[dict[str, Any]]:
        dashboard = SyncMonitoringDashboard(
            controller.settings.monitoring.socket_path, agent="orchestrator"
        )
        try:
            assert dashboard.client.register_with_monitor("orchestrator", os.getpid())
            assert dashboard.update_model_usage(
                "claude-opus",
                "claude",
                pools=[{"name": "claude 5h", "used": 40, "limit": 100, "window": "5h"}],
            )
            summary: list[dict[str, Any]] = dashboard.get_quota_summary()
            return summary
        finally:
            dashboard.close()

    [pool] = await asyncio.to_thread(use)
    assert pool["name"] == "claude 5h" and pool["family"] == "claude" and pool["span"] == "5h"


async def test_chatops_quota_prints_the_summary(controller: Controller, workdir: Any) -> None:
    import subprocess
    import sys

    import yaml

    dashboard = MonitoringDashboard(
        controller.settings.monitoring.socket_path, agent="orchestrator"
    )
    try:
        assert await dashboard.client.register_with_monitor("orchestrator", os.getpid())
        assert await dashboard.update_model_usage(
            "gemini-3-pro", "gemini", thinking_credits=800, thinking_limit=1000
        )
    finally:
        await dashboard.close()
    config = workdir / "cli.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "monitoring": {
                    "socket_path": str(controller.settings.monitoring.socket_path),
                    "database_path": str(controller.settings.monitoring.database_path),
                }
            }
        )
    )

    def run(*extra: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "chatops.cli", "--config", str(config), "quota", *extra],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout

    text = await asyncio.to_thread(run)
    assert "gemini-3-pro thinking" in text and "▰▰▱▱▱▱▱▱▱▱ 20% left" in text
    assert "[warning]" in text
    import json

    [pool] = json.loads(await asyncio.to_thread(run, "--json"))["quotas"]
    assert pool["pct_left"] == 20 and pool["level"] == "warning"
