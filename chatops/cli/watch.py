"""``chatops watch codex``: the Codex watcher as a command (see
:mod:`chatops.client.codex_watch`). Runs until SIGTERM or Ctrl-C, then unregisters."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys

from chatops.cli import EXIT_RUNTIME
from chatops.config import Settings


def watch_command(settings: Settings, args: argparse.Namespace) -> int:
    from chatops.client.codex_logs import sessions_dir

    root = sessions_dir(args.sessions)
    if not root.is_dir():
        print(f"chatops: no Codex sessions folder at {root} (see --sessions)", file=sys.stderr)
        return EXIT_RUNTIME
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_watch(settings, args.agent, root))
    return 0


async def _watch(settings: Settings, agent: str, root: os.PathLike[str]) -> None:
    from pathlib import Path

    from chatops.client.codex_watch import watch_codex
    from chatops.client.monitor import MonitorClient

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    client = MonitorClient(settings.monitoring.socket_path)
    try:
        await watch_codex(client, agent, Path(root), stop=stop)
    finally:
        await client.unregister_from_monitor(agent, timeout=2.0)
        await client.close()
