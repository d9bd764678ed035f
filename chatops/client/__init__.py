"""What bots import: ``MonitorClient``, ``LLMUsageLogger``, ``SyncMonitorClient``, and the agent
seed's ``MonitoringDashboard`` (with its sync twin)."""

from chatops.client.blocking import MonitorError
from chatops.client.dashboard import MonitoringDashboard, SyncMonitoringDashboard
from chatops.client.monitor import MonitorClient
from chatops.client.sync import SyncMonitorClient
from chatops.client.usage import LLMUsageLogger

__all__ = [
    "LLMUsageLogger",
    "MonitorClient",
    "MonitorError",
    "MonitoringDashboard",
    "SyncMonitorClient",
    "SyncMonitoringDashboard",
]
