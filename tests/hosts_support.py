"""A hub and its edges on loopback for the many-hosts tests: each a real controller with its
own socket and database, linked through a real nats-server (:class:`NatsServer`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from chatops.alerts.sinks import Sink
from chatops.api.door import SocketDoor
from chatops.cli.edge import edge_settings
from chatops.composition.controller import Controller
from chatops.config import EdgeConfig, NatsConfig, Settings
from chatops.nats.edge import EdgeLink
from chatops.nats.hub import HubLink
from tests.conftest import make_settings


def host_settings(root: Path, url: str, *, edge: str | None = None, **nats: Any) -> Settings:
    """One host's settings in ``root``: heartbeats every 0.5 s, an edge's beat with them."""
    root.mkdir(mode=0o700, exist_ok=True)
    settings = make_settings(root, heartbeat_interval=0.5, late_grace=0.5, stale_timeout=3)
    settings.nats = NatsConfig(url=url, **{"host_timeout": 3, **nats})
    if edge is not None:
        settings.edge = EdgeConfig(name=edge)
    return settings


def hub_controller(settings: Settings, sinks: Sequence[Sink] = ()) -> Controller:
    return Controller(
        settings, socket_door=SocketDoor, role="hub", links=[HubLink], sinks=list(sinks)
    )


def edge_controller(settings: Settings) -> Controller:
    """As ``chatops edge`` builds it."""
    return Controller(
        edge_settings(settings), socket_door=SocketDoor, role="edge", links=[EdgeLink]
    )


def edge_link(controller: Controller) -> EdgeLink:
    [link] = controller.links
    assert isinstance(link, EdgeLink)
    return link


def hub_link(controller: Controller) -> HubLink:
    [link] = controller.links
    assert isinstance(link, HubLink)
    return link


@contextlib.asynccontextmanager
async def started(*controllers: Controller) -> AsyncIterator[None]:
    running: list[Controller] = []
    try:
        for controller in controllers:
            await controller.start()
            running.append(controller)
        yield
    finally:
        for controller in reversed(running):
            await controller.stop()
