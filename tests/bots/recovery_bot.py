"""A bot for the recovery tests: registers and heartbeats like simple_bot; with ``stubborn`` it
refuses every control message (so only a signal stops it); with ``exit CODE MARKER`` it exits
with CODE once, soon after registering, unless MARKER exists (then it stays up)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from chatops.client import MonitorClient


async def main(socket_path: str, channel: str, mode: str, *extra: str) -> None:
    client = MonitorClient(socket_path)
    if mode == "stubborn":

        def refuse(push: Any) -> None:
            raise RuntimeError("this bot takes no orders")

        client.on_push("control", refuse)
    if not await client.register_with_monitor(channel, os.getpid()):
        sys.exit(1)
    beat = asyncio.create_task(client.start_heartbeat(channel, interval=1))
    print(f"READY {os.getpid()}", flush=True)
    if mode == "exit":
        code, marker = int(extra[0]), Path(extra[1])
        if not marker.exists():
            marker.write_text("exited once")
            await asyncio.sleep(0.3)
            os._exit(code)
    await asyncio.sleep(3600)
    beat.cancel()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
