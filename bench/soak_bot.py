"""The soak's bot: registers, heartbeats, and on SIGTERM unregisters and exits cleanly.

Unlike the tests' simple bot it never gives up when the controller is away: the client library
reconnects and registers again by itself.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from chatops.client import MonitorClient


async def main(socket_path: str, channel: str, interval: float) -> None:
    client = MonitorClient(socket_path, backoff_max=1.0)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await client.register_with_monitor(channel, os.getpid(), {"llm": True})
    heartbeat = asyncio.create_task(client.start_heartbeat(channel, interval=interval))
    print("READY", flush=True)
    await stop.wait()
    heartbeat.cancel()
    await client.unregister_from_monitor(channel, os.getpid())
    await client.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
