"""``get_dashboard_data()``: one answer with everything an orchestrator shows (the fleet by
status, agents, quotas, the cache, approvals and the controller's health)."""

from __future__ import annotations

from typing import Any

from chatops.api.cache_views import stats_to_dict
from chatops.api.fleet import agent_to_dict
from chatops.api.quotas import quota_to_dict
from chatops.composition.services import Services


async def dashboard_data(services: Services) -> dict[str, Any]:
    now = services.clock()
    statuses: dict[str, int] = {}
    for bot in services.fleet.bots.values():
        statuses[str(bot.status)] = statuses.get(str(bot.status), 0) + 1
    health = services.health.current()
    return {
        "fleet": {"bots": len(services.fleet.bots), "by_status": statuses},
        "agents": [agent_to_dict(agent) for agent in services.agents.snapshot()],
        "quotas": [quota_to_dict(view, now) for view in services.quotas.summary()],
        "cache": stats_to_dict(services.cache.statistics()),
        "auto_accept": await services.approvals.controls.get_statistics(),
        "pending_approvals": len(services.approvals.pending()),
        "controller": {"degraded": health.degraded, "reason": health.reason},
    }
