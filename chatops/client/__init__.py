"""What bots import: ``MonitorClient``, ``LLMUsageLogger``, and ``SyncMonitorClient``."""

from chatops.client.blocking import MonitorError
from chatops.client.monitor import MonitorClient
from chatops.client.sync import SyncMonitorClient
from chatops.client.usage import LLMUsageLogger

__all__ = ["LLMUsageLogger", "MonitorClient", "MonitorError", "SyncMonitorClient"]
