"""An agent process for the approval tests: for each JSON line on stdin (``{"type", "data",
"timeout"}``) it asks the monitor through the client library and prints the answer as one JSON
line, stamped with the time it came back, in the order asked.

A line ``{"shell": COMMAND}`` runs COMMAND at once with ``/bin/sh`` (what an agent's tool call
does), even while a request waits, and prints ``{"shell": COMMAND, "code": N}``: the tests'
agent tries to approve its own request this way."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from chatops.client import MonitorClient


async def answer(client: MonitorClient, agent: str, asks: asyncio.Queue[Any]) -> None:
    while (ask := await asks.get()) is not None:
        result = await client.request_approval(
            ask["type"], ask["data"], timeout=ask.get("timeout"), agent=agent
        )
        print(json.dumps({**result, "at": time.time()}), flush=True)


async def main(socket_path: str, agent: str) -> None:
    client = MonitorClient(socket_path, backoff_initial=0.05)
    loop = asyncio.get_running_loop()
    asks: asyncio.Queue[Any] = asyncio.Queue()
    answering = asyncio.create_task(answer(client, agent, asks))
    print(json.dumps({"ready": True}), flush=True)
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        ask = json.loads(line)
        if "shell" in ask:
            shell = await asyncio.create_subprocess_shell(
                ask["shell"], stdin=asyncio.subprocess.DEVNULL
            )
            print(json.dumps({"shell": ask["shell"], "code": await shell.wait()}), flush=True)
        else:
            asks.put_nowait(ask)
    asks.put_nowait(None)
    await answering
    await client.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
