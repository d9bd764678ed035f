"""An agent process for the quota tests: logs LLM usage of the given costs through the client
library, waits until every event is acknowledged, prints DONE and exits."""

from __future__ import annotations

import asyncio
import sys

from chatops.client import MonitorClient


async def main(socket_path: str, channel: str, costs: list[float]) -> None:
    client = MonitorClient(socket_path)
    for cost in costs:
        await client.log_usage(
            channel=channel,
            model="claude-sonnet",
            tokens_in=100,
            tokens_out=50,
            estimated_cost=cost,
        )
    drained = await client.drain_spool(timeout=20)
    await client.close()
    print("DONE" if drained else "NOT DRAINED", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], [float(c) for c in sys.argv[3:]]))
