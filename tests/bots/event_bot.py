"""A bot that logs numbered LLM usage events across monitor outages, then reports.

It prints READY once registered, logs ``count`` events ``pause`` seconds apart with keys
``<channel>-<i>``, waits until its spool is empty, writes a JSON report to ``report``, prints
DONE, and unregisters when a line (or EOF) arrives on stdin. With a sixth argument it also
heartbeats every that many seconds meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

from chatops.client import MonitorClient


async def main(
    socket_path: str, channel: str, count: int, pause: float, report: str, beat: float
) -> None:
    client = MonitorClient(socket_path, backoff_max=0.5, request_timeout=5.0)
    registered = await client.register_with_monitor(channel, os.getpid(), {"llm": True})
    if beat:
        asyncio.create_task(client.start_heartbeat(channel, beat))  # noqa: RUF006
    print("READY" if registered else "NOT-REGISTERED", flush=True)
    acked = []
    for i in range(count):
        if await client.log_usage(
            channel=channel, model="m", feature="f", tokens_in=i, tokens_out=1, key=f"{channel}-{i}"
        ):
            acked.append(i)
        await asyncio.sleep(pause)
    drained = await client.drain_spool(timeout=60)
    with open(report, "w") as fh:
        json.dump(
            {
                "acked": acked,
                "drained": drained,
                "left": len(client.spool),
                "dropped": client.spool.dropped,
                "connects": client.connects,
            },
            fh,
        )
    print("DONE", flush=True)
    # Stay connected until told to go, so the test can look at the fleet while all are alive.
    await asyncio.to_thread(sys.stdin.readline)
    await client.unregister_from_monitor(channel, os.getpid())
    await client.close()


if __name__ == "__main__":
    beat = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
    asyncio.run(
        main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5], beat)
    )
