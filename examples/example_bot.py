"""A runnable bot that registers, heartbeats and logs LLM usage.

    chatops run &                      # in another terminal
    python examples/example_bot.py     # Ctrl-C (or SIGTERM) to stop; it unregisters cleanly

Set CHATOPS_MONITORING__SOCKET_PATH if the controller uses a non-default socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import time

from chatops.client import LLMUsageLogger, MonitorClient

CHANNEL = os.environ.get("BOT_CHANNEL", "example_bot")


async def fake_llm_call() -> tuple[int, int, int]:
    started = time.monotonic()
    await asyncio.sleep(random.uniform(0.05, 0.3))
    return (
        random.randint(50, 500),
        random.randint(20, 200),
        int((time.monotonic() - started) * 1000),
    )


async def main() -> None:
    # Stop on SIGINT and SIGTERM whatever disposition the process inherited (a bot started
    # from a background job or a supervisor may inherit SIGINT ignored).
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    client = MonitorClient()
    await client.register_with_monitor(
        channel=CHANNEL, pid=os.getpid(), features={"llm": True, "translator": False}
    )
    heartbeat = asyncio.create_task(client.start_heartbeat(CHANNEL, interval=30))
    logger = LLMUsageLogger(client)
    try:
        while not stop.is_set():
            tokens_in, tokens_out, latency_ms = await fake_llm_call()
            await logger.log_usage(
                channel=CHANNEL,
                model="deepseek-chat",
                feature="joke_command",
                tokens_in=tokens_in,
                tokens_out=tokens_out,
                latency_ms=latency_ms,
                estimated_cost=(tokens_in + tokens_out) * 1e-6,
            )
            print(await asyncio.to_thread(logger.get_usage_stats, channel=CHANNEL, days=30))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 5)
    finally:
        heartbeat.cancel()
        await client.unregister_from_monitor(CHANNEL, os.getpid())
        await client.close()


if __name__ == "__main__":
    asyncio.run(main())
