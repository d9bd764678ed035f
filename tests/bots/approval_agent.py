"""An agent process for the approval tests: for each JSON line on stdin (``{"type", "data",
"timeout"}``) it asks the monitor through the client library and prints the answer as one JSON
line, stamped with the time it came back."""

from __future__ import annotations

import asyncio
import json
import sys
import time

from chatops.client import MonitorClient


async def main(socket_path: str, agent: str) -> None:
    client = MonitorClient(socket_path, backoff_initial=0.05)
    loop = asyncio.get_running_loop()
    print(json.dumps({"ready": True}), flush=True)
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        ask = json.loads(line)
        result = await client.request_approval(
            ask["type"], ask["data"], timeout=ask.get("timeout"), agent=agent
        )
        print(json.dumps({**result, "at": time.time()}), flush=True)
    await client.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
