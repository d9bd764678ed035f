"""``chatops run`` without a Discord token: the controller and its socket, until a signal."""

from __future__ import annotations

import asyncio
import logging
import signal

from chatops.api.door import SocketDoor
from chatops.composition.controller import Controller
from chatops.config import Settings
from chatops.nats import hub_options
from chatops.runtime.loop import loop_name
from chatops.web.door import HttpDoor

log = logging.getLogger(__name__)


async def run_headless(settings: Settings) -> None:
    """Run the controller until SIGTERM or SIGINT, then shut down gracefully."""
    controller = Controller(
        settings, socket_door=SocketDoor, http_door=HttpDoor, **hub_options(settings)
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await controller.start()
    log.info(
        "chatops running headless (no Discord token) on %s; socket %s, database %s",
        loop_name(settings.monitoring.uvloop),
        settings.monitoring.socket_path,
        settings.monitoring.database_path,
    )
    try:
        await stop.wait()
        log.info("shutting down")
    finally:
        await controller.stop()
