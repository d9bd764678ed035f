"""An orchestrator-style agent: the one-object integration (``MonitoringDashboard``).

It registers itself as a bot (the admin calls need a registered name that the controller's
``recovery.admin_agents`` lists), then uses every one of the orchestrator calls and
prints what each answered, as JSON, one line per call::

    chatops run &                    # with recovery.admin_agents: [orchestrator]
    python examples/orchestrator.py

Set CHATOPS_MONITORING__SOCKET_PATH if the controller uses a non-default socket.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from typing import Any

from chatops.client import MonitorClient, MonitoringDashboard

NAME = os.environ.get("ORCHESTRATOR_NAME", "orchestrator")
TASK = f"demo-{uuid.uuid4().hex[:12]}"
"""A task id of this run's own: a cache entry's id is taken until it is cleaned, and without
``recovery.admin_agents`` this run cannot clean it, so a fixed id would be refused next time."""


def show(call: str, answer: Any) -> None:
    print(json.dumps({"call": call, "answer": answer}, default=str), flush=True)


async def main() -> None:
    client = MonitorClient()
    if not await client.register_with_monitor(NAME, os.getpid(), {"orchestrator": True}):
        raise SystemExit("the controller could not be reached")
    dashboard = MonitoringDashboard(client=client, agent=NAME)
    await dashboard.register_agent("Coder", "coder")
    await dashboard.update_agent_status("Coder", "processing", current_task="main.py")
    if await client.create_cache_entry(TASK, "coder", {"out.txt": "hello\n"}, agent=NAME) is None:
        raise SystemExit(f"the cache entry {TASK} was refused (see the log above)")
    await client.finish_cache_entry(TASK, agent=NAME)

    show("get_dashboard_data", await dashboard.get_dashboard_data())
    show("get_agents_summary", await dashboard.get_agents_summary())
    show("get_quota_summary", await dashboard.get_quota_summary())
    show("get_cache_entries", await dashboard.get_cache_entries())
    show("auto_clean_cache", await dashboard.auto_clean_cache())
    show("toggle_auto_accept", await dashboard.toggle_auto_accept(False))
    show("toggle_auto_accept", await dashboard.toggle_auto_accept(True))
    show("get_auto_accept_stats", await dashboard.get_auto_accept_stats())
    show("get_recent_actions", await dashboard.get_recent_actions(10))
    show("run_diagnostics", await dashboard.run_diagnostics())
    show("health_check", await dashboard.health_check())
    show("get_system_metrics", await dashboard.get_system_metrics())
    show("clear_cache", await dashboard.clear_cache())
    await client.unregister_from_monitor(NAME, os.getpid())
    await dashboard.close()


if __name__ == "__main__":
    asyncio.run(main())
