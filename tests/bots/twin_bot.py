"""One bot process watched by two controllers: registers with each socket, heartbeats both,
prints READY. Killed, both controllers see the same bot go down."""

from __future__ import annotations

import asyncio
import os
import sys

from chatops.client import MonitorClient


async def main(sockets: list[str], channel: str, interval: float) -> None:
    clients = [MonitorClient(path) for path in sockets]
    for client in clients:
        if not await client.register_with_monitor(channel, os.getpid(), {"llm": True}):
            print("REGISTER FAILED", flush=True)
            sys.exit(1)
    beats = [asyncio.create_task(c.start_heartbeat(channel, interval=interval)) for c in clients]
    print("READY", flush=True)
    try:
        await asyncio.sleep(3600)
    finally:
        for beat in beats:
            beat.cancel()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:3], sys.argv[3], float(sys.argv[4]) if len(sys.argv) > 4 else 30))
