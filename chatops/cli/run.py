"""``chatops run`` without a Discord token: the controller and its socket, until a signal."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Coroutine
from typing import Any

from chatops.api.door import SocketDoor
from chatops.cli import EXIT_RUNTIME
from chatops.composition.controller import START_ERRORS, Controller
from chatops.config import Settings
from chatops.nats import hub_options
from chatops.runtime.loop import loop_name, run
from chatops.web.door import HttpDoor

log = logging.getLogger(__name__)


def serve(main: Coroutine[Any, Any, None], settings: Settings) -> int:
    """Run ``main`` (a controller until its signal) on the configured loop: a start the machine
    refuses (another controller on this database, a path that cannot be used) is one line and
    exit 1, no traceback; Ctrl-C is a normal end."""
    try:
        run(main, use_uvloop=settings.monitoring.uvloop)
    except START_ERRORS as exc:
        print(f"chatops: {exc}", file=sys.stderr)
        return EXIT_RUNTIME
    except KeyboardInterrupt:
        pass
    return 0


async def run_headless(settings: Settings) -> None:
    """Run the controller until SIGTERM or SIGINT, then shut down gracefully."""
    controller = Controller(
        settings, socket_door=SocketDoor, http_door=HttpDoor, **hub_options(settings)
    )
    what = "headless (no Discord token)" + (", a hub" if settings.nats.url else "")
    await run_until_stopped(controller, what)


async def run_until_stopped(controller: Controller, what: str) -> None:
    """Start ``controller``, say so, and stop it gracefully on SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await controller.start()
    settings = controller.settings
    log.info(
        "chatops running %s on %s; socket %s, database %s",
        what,
        loop_name(settings.monitoring.uvloop),
        settings.monitoring.socket_path,
        settings.monitoring.database_path,
    )
    try:
        await stop.wait()
        log.info("shutting down")
    finally:
        await controller.stop()
