"""``MonitoringDashboard``: one object through which an AI agent reports its status, its tasks
and its provider's quotas, and reads the fleet's, talking to the controller.

Its calls keep the names and arguments existing agent code uses, so such code works by changing
its import::

    from chatops.client import MonitoringDashboard

    dashboard = MonitoringDashboard(agent="coder")  # quota pools come from a registered bot
    await dashboard.client.register_with_monitor("coder", os.getpid())
    await dashboard.register_agent("Coder", "coder")
    await dashboard.update_agent_status("Coder", "processing", current_task="main.py")
    await dashboard.increment_agent_tasks("Coder", success=True)
    await dashboard.update_model_usage(model_name="gemini-3-pro", family="gemini",
                                       thinking_credits=150, flow_credits=50,
                                       thinking_limit=1000, flow_limit=500)
    summary = await dashboard.get_quota_summary()

The calls of an orchestrating agent are here too (``get_dashboard_data``, ``run_diagnostics``,
``health_check``, ``get_system_metrics``, ``get_cache_entries``, ``auto_clean_cache``…), each
served by the controller; the admin ones need ``agent=`` a registered bot that the controller's
``recovery.admin_agents`` names.

``SyncMonitoringDashboard`` is the same for code that is not async. Like the rest of the client,
nothing raises into the agent: a call the monitor cannot take returns False (or an empty
summary) and logs why.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from enum import Enum
from typing import Any

from chatops.client.messages import checked
from chatops.client.monitor import MonitorClient
from chatops.client.sync import SyncMonitorClient
from chatops.wire.protocol import (
    AgentStatus,
    CacheList,
    GetQuotaSummary,
    GetStatus,
    GetSystemMetrics,
    GetUsageTrends,
    HealthCheck,
    ListApprovals,
    ModelUsage,
    Orchestrate,
    RunDiagnostics,
)

log = logging.getLogger("chatops.client")


def _family(family: Any) -> str:
    """A ``ModelFamily`` member (``ModelFamily.GEMINI``, as existing agent code passes) or a plain
    string; anything else is ``other``."""
    value = family.value if isinstance(family, Enum) else family
    name = str(value or "other").lower()
    return name if name in ("gemini", "claude", "openai") else "other"


class MonitoringDashboard:
    def __init__(
        self,
        socket_path: str | os.PathLike[str] | None = None,
        *,
        client: MonitorClient | None = None,
        agent: str | None = None,
    ) -> None:
        self.client = client or MonitorClient(socket_path)
        self.agent = agent
        """The bot this orchestrator registered, for the admin calls."""

    async def register_agent(self, agent_name: str, agent_type: str) -> bool:
        message = checked(AgentStatus, agent=agent_name, status="idle", agent_type=agent_type)
        return message is not None and bool(await self._ok(message))

    async def update_agent_status(
        self,
        agent_name: str,
        status: str,
        current_task: str | None = None,
        error_message: str | None = None,
    ) -> bool:
        return await self.client.agent_status(
            agent_name, status, current_task=current_task, error_message=error_message
        )

    async def increment_agent_tasks(self, agent_name: str, success: bool) -> bool:
        return await self.client.task_result(agent_name, success)

    async def update_model_usage(
        self,
        model_name: str,
        family: Any = "other",
        thinking_credits: float | None = None,
        flow_credits: float | None = None,
        thinking_limit: float | None = None,
        flow_limit: float | None = None,
        *,
        pools: Sequence[dict[str, Any]] = (),
    ) -> bool:
        """What the provider says: the model's thinking and flow credits, and any named pool
        (``{"name": "claude 5h", "used": …, "limit": …, "resets_at": …, "window": "5h"}``)."""
        message = checked(
            ModelUsage,
            model_name=model_name,
            family=_family(family),
            thinking_credits=thinking_credits,
            flow_credits=flow_credits,
            thinking_limit=thinking_limit,
            flow_limit=flow_limit,
            pools=list(pools),
            channel=self.agent,
        )
        return message is not None and bool(await self._ok(message))

    async def get_quota_summary(self) -> list[dict[str, Any]]:
        reply = await self._ok(GetQuotaSummary())
        return list(reply.get("quotas", [])) if reply else []

    async def get_agents_summary(self) -> list[dict[str, Any]]:
        reply = await self._ok(GetStatus())
        return list(reply.get("agents", [])) if reply else []

    async def get_usage_trends(self, minutes: int = 90) -> dict[str, list[list[float]]]:
        reply = await self._ok(GetUsageTrends(minutes=minutes))
        return dict(reply.get("trends", {})) if reply else {}

    async def get_cache_summary(self) -> dict[str, Any]:
        """The cache's statistics (count, total size, per agent type, oldest, newest,
        largest); empty when the monitor cannot be reached."""
        return await self.client.get_cache_summary() or {}

    # -- orchestrator calls, served by the controller -------------------------------------------

    async def get_dashboard_data(self) -> dict[str, Any]:
        return await self._call("get_dashboard_data")

    async def get_cache_entries(self, limit: int = 100) -> list[dict[str, Any]]:
        reply = await self._ok(CacheList(limit=limit))
        return list(reply.get("entries", [])) if reply else []

    async def auto_clean_cache(self) -> dict[str, Any]:
        """Admin: the agent must be a registered bot named in ``recovery.admin_agents``."""
        return await self._call("auto_clean_cache")

    async def clear_cache(self) -> dict[str, Any]:
        """Admin, as :meth:`auto_clean_cache`; running tasks are kept."""
        return await self._call("clear_cache")

    async def toggle_auto_accept(self, enabled: bool | None = None) -> bool | None:
        """Admin; the new state, or None when refused."""
        reply = await self._call("toggle_auto_accept", {"enabled": enabled})
        state = reply.get("enabled")
        return state if isinstance(state, bool) else None

    async def get_auto_accept_stats(self) -> dict[str, Any]:
        return await self._call("get_auto_accept_stats")

    async def get_recent_actions(self, limit: int = 20) -> list[dict[str, Any]]:
        reply = await self._ok(ListApprovals(pending_only=False, limit=limit))
        return list(reply.get("approvals", [])) if reply else []

    async def run_diagnostics(self) -> list[dict[str, Any]]:
        reply = await self._ok(RunDiagnostics(), timeout=120)
        return list(reply.get("checks", [])) if reply else []

    async def health_check(self) -> dict[str, Any]:
        """``status`` (ok, degraded, failing) and ``reasons``; failing when unreachable."""
        reply = await self._ok(HealthCheck(), timeout=120)
        if reply is None:
            return {"status": "failing", "reasons": ["the monitor could not be reached"]}
        return {k: v for k, v in reply.items() if k not in ("id", "ok")}

    async def get_system_metrics(self) -> dict[str, Any]:
        reply = await self._ok(GetSystemMetrics())
        return {k: v for k, v in (reply or {}).items() if k not in ("id", "ok")}

    async def close(self) -> None:
        await self.client.close()

    async def _call(self, call: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        message = checked(Orchestrate, call=call, agent=self.agent, args=args or {})
        reply = None if message is None else await self._ok(message, timeout=120)
        return {k: v for k, v in (reply or {}).items() if k not in ("id", "ok")}

    async def _ok(self, message: Any, timeout: float | None = None) -> dict[str, Any] | None:
        reply = await self.client.request(message, timeout=timeout)
        if reply is not None and not reply.get("ok"):
            log.warning("%s refused: %s", type(message).__name__, reply.get("error"))
        return reply if reply and reply.get("ok") else None


class SyncMonitoringDashboard:
    """The same calls for code that is not async (the client runs on a private thread)."""

    def __init__(
        self,
        socket_path: str | os.PathLike[str] | None = None,
        *,
        agent: str | None = None,
        **options: Any,
    ):
        self._sync = SyncMonitorClient(socket_path, **options)
        self.client = self._sync
        """The blocking client underneath (to register ``agent``, say)."""
        self._dashboard = MonitoringDashboard(client=self._sync.client, agent=agent)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._dashboard, name)
        if not callable(method) or name.startswith("_"):
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._sync.run(method(*args, **kwargs))

        return call

    def close(self) -> None:
        self._sync.close()
