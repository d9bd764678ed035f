"""``LLMUsageLogger``: a bot's LLM calls, forwarded to the monitor exactly once, and their sums."""

from __future__ import annotations

import os
import time
from collections import deque
from typing import Any

from chatops.client.blocking import MonitorError, request
from chatops.client.monitor import MonitorClient
from chatops.wire.protocol import GetUsage

LOCAL_NOTE = (
    "local totals: the controller is not answering, so these count only the calls this "
    "process logged since it started, at its own estimated cost"
)


class LLMUsageLogger:
    """Log LLM calls; ``get_usage_stats`` answers from the monitor, or from what this process
    logged itself when the monitor cannot be reached (``"source"`` says which)."""

    def __init__(
        self,
        client: MonitorClient | None = None,
        *,
        socket_path: str | os.PathLike[str] | None = None,
        local_history: int = 100_000,
    ) -> None:
        self.client = client or MonitorClient(socket_path)
        self._local: deque[dict[str, Any]] = deque(maxlen=local_history)

    async def log_usage(
        self,
        channel: str,
        model: str,
        feature: str | None = None,
        tokens_in: int = 0,
        tokens_out: int = 0,
        latency_ms: int | None = None,
        estimated_cost: float = 0.0,
    ) -> bool:
        """Record one call. Returns True once the monitor committed it; False means it is spooled
        and will be delivered when the monitor is back. Never raises."""
        event = {
            "channel": channel,
            "model": model,
            "feature": feature,
            "tokens_in": int(tokens_in),
            "tokens_out": int(tokens_out),
            "latency_ms": None if latency_ms is None else int(latency_ms),
            "estimated_cost": float(estimated_cost),
            "ts": time.time(),
        }
        self._local.append(event)
        return await self.client.log_usage(**event)

    def get_usage_stats(self, channel: str | None = None, days: int = 30) -> dict[str, Any]:
        """Usage totals, synchronously, under the call and keys existing bot code uses:
        ``total_tokens_in``, ``total_tokens_out``, ``total_cost``, ``total_calls``,
        ``avg_latency_ms``; ``source`` says whose they are.

        During a controller outage they are this process's own (``source: "local"``, and a
        ``note`` saying so): the calls it logged since it started, at the cost it estimated,
        not the fleet's totals, so a caller never takes them for the controller's."""
        try:
            reply = request(self.client.socket_path, GetUsage(channel=channel, days=days))
        except (OSError, MonitorError, ValueError):
            return self._local_stats(channel, days)
        stats = {k: v for k, v in reply.items() if k not in ("id", "ok")}
        stats["source"] = "monitor"
        return stats

    def _local_stats(self, channel: str | None, days: int) -> dict[str, Any]:
        since = time.time() - days * 86400
        rows = [
            e
            for e in self._local
            if e["ts"] >= since and (channel is None or e["channel"] == channel)
        ]
        latencies = [e["latency_ms"] for e in rows if e["latency_ms"] is not None]
        return {
            "channel": channel,
            "days": days,
            "total_calls": len(rows),
            "total_tokens_in": sum(e["tokens_in"] for e in rows),
            "total_tokens_out": sum(e["tokens_out"] for e in rows),
            "total_cost": sum(e["estimated_cost"] for e in rows),
            "avg_latency_ms": sum(latencies) / len(latencies) if latencies else None,
            "source": "local",
            "note": LOCAL_NOTE,
        }
