"""What bots import: ``MonitorClient``, ``LLMUsageLogger``, ``SyncMonitorClient``, and the
``MonitoringDashboard``, the one-object integration for AI agents (with its sync twin).

Each name is imported on first use (PEP 562): the asyncio client pulls in aiohttp and more,
and a short-lived caller such as the Claude Code hook, which needs only one blocking request,
must not pay for it on every tool call.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chatops.client.blocking import MonitorError
    from chatops.client.dashboard import MonitoringDashboard, SyncMonitoringDashboard
    from chatops.client.monitor import MonitorClient
    from chatops.client.sync import SyncMonitorClient
    from chatops.client.usage import LLMUsageLogger

_HOMES = {
    "LLMUsageLogger": "chatops.client.usage",
    "MonitorClient": "chatops.client.monitor",
    "MonitorError": "chatops.client.blocking",
    "MonitoringDashboard": "chatops.client.dashboard",
    "SyncMonitorClient": "chatops.client.sync",
    "SyncMonitoringDashboard": "chatops.client.dashboard",
}

__all__ = [
    "LLMUsageLogger",
    "MonitorClient",
    "MonitorError",
    "MonitoringDashboard",
    "SyncMonitorClient",
    "SyncMonitoringDashboard",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
