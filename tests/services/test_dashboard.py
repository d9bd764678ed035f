"""The agent seed's MonitoringDashboard calls, against a real controller over its socket."""

from __future__ import annotations

import asyncio
from enum import Enum
from typing import Any

from chatops.client import MonitoringDashboard, SyncMonitoringDashboard
from chatops.runtime.controller import Controller


class ModelFamily(Enum):  # as the seed declares it
    GEMINI = "gemini"


async def test_the_seed_calls_work_by_changing_the_import(controller: Controller) -> None:
    dashboard = MonitoringDashboard(controller.settings.monitoring.socket_path)
    try:
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
        dashboard = SyncMonitoringDashboard(controller.settings.monitoring.socket_path)
        try:
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
