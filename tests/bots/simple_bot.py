"""A real bot process for the tests: registers, heartbeats, logs usage, prints READY."""

from __future__ import annotations

import asyncio
import os
import sys

from chatops.client import LLMUsageLogger, MonitorClient


async def main(socket_path: str, channel: str, interval: float) -> None:
    client = MonitorClient(socket_path)
    ok = await client.register_with_monitor(
        channel, os.getpid(), {"llm": True, "translator": False}
    )
    if not ok:
        print("REGISTER FAILED", flush=True)
        sys.exit(1)
    heartbeat = asyncio.create_task(client.start_heartbeat(channel, interval=interval))
    logger = LLMUsageLogger(client)
    await logger.log_usage(
        channel=channel,
        model="deepseek-chat",
        feature="joke_command",
        tokens_in=150,
        tokens_out=80,
        latency_ms=1200,
        estimated_cost=0.0003,
    )
    print("READY", flush=True)
    try:
        await asyncio.sleep(3600)
    finally:
        heartbeat.cancel()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 30))
