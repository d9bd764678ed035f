"""The doors the controller serves: the monitor socket and the HTTP listener.

Each entry point hands :class:`~chatops.composition.controller.Controller` a factory for each
door (the socket's from :mod:`chatops.api`, the HTTP one from :mod:`chatops.web`): the
composition builds them once the services are, binds them, and puts their teardown on the
controller's stack, so a door never reaches below the services it is given.
"""

from __future__ import annotations

import grp
import ipaddress
import logging
import os
import socket
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from typing import Protocol

from aiohttp import web

from chatops.composition.services import Services
from chatops.config import Settings
from chatops.presentation.formatting import host_port
from chatops.services.selfmetrics import SocketFigures
from chatops.store import Store
from chatops.wire.outcomes import Handler
from chatops.wire.peer import Peer, uid_refusal
from chatops.wire.protocol import ErrorCode, type_name
from chatops.wire.server import ConnectionLimits, MonitorServer

log = logging.getLogger(__name__)


class SocketDoor(Protocol):
    """What the monitor server is handed by the socket's door (:mod:`chatops.api`): a handler
    per request type, what to do when a connection closes, and the reply for its errors."""

    @property
    def handlers(self) -> Mapping[type, Handler]: ...

    def connection_lost(self, peer: Peer) -> None: ...

    def explain(self, exc: Exception) -> tuple[ErrorCode, str] | None: ...


SocketDoorFactory = Callable[[Services], SocketDoor]
"""Builds the socket door once the services are: the entry points pass
:class:`chatops.api.door.SocketDoor`."""


class HttpDoor(Protocol):
    """What the HTTP listener serves (:class:`chatops.web.door.HttpDoor`): its routes."""

    @property
    def app(self) -> web.Application: ...

    def close(self) -> None: ...


HttpDoorFactory = Callable[[Services, Settings], HttpDoor]


class HttpListenError(RuntimeError):
    """``http.listen`` names an address that cannot be bound (taken, or not this machine's)."""


def bind_http(settings: Settings) -> socket.socket | None:
    """Bind ``http.listen`` first thing (after the lock), so a taken port stops the start
    before the database or the monitor socket is touched; None when the listener is off."""
    address = settings.http.address
    if address is None:
        return None
    host, port = address
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, sockaddr = infos[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise HttpListenError(
            f"http.listen {settings.http.listen}: {exc.strerror or exc}"
        ) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT, as servers do
        sock.bind(sockaddr)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        reason = (exc.strerror or str(exc)).lower()
        raise HttpListenError(
            f"http.listen {settings.http.listen}: cannot listen there ({reason})"
        ) from None
    sock.setblocking(False)
    return sock


async def serve_socket(
    factory: SocketDoorFactory,
    services: Services,
    settings: Settings,
    store: Store,
    stack: AsyncExitStack,
) -> MonitorServer:
    cfg = settings.monitoring
    door = factory(services)
    group_id = grp.getgrnam(cfg.socket_group).gr_gid if cfg.socket_group else None
    own_uid = os.geteuid()
    server = MonitorServer(
        door.handlers,
        store.writer,
        on_disconnect=door.connection_lost,
        explain=door.explain,
        limits=ConnectionLimits(
            max_line_bytes=cfg.max_line_bytes,
            max_pending_writes=cfg.max_pending_writes,
            handshake_timeout=cfg.handshake_timeout,
            max_connections=cfg.max_connections,
            max_connections_per_uid=cfg.max_connections_per_uid,
            bad_message_budget=cfg.bad_message_budget,
            bad_message_window=cfg.bad_message_window,
        ),
        admission=lambda peer: uid_refusal(peer, own_uid, group_id),
    )
    await server.serve_unix(cfg.socket_path, cfg.socket_group)
    services.self_metrics.socket = lambda: SocketFigures(
        handled={type_name(cls): count for cls, count in server.handled.items()},
        refused=dict(server.refused_connections),
        bad_input=dict(server.bad_input.by_code),
        connections=len(server.connections),
    )

    async def stop_serving() -> None:
        # Every acknowledged write is on disk before any connection closes.
        await server.stop_accepting()
        await store.flush()
        await server.close_connections()

    stack.push_async_callback(stop_serving)
    return server


async def serve_http(
    factory: HttpDoorFactory,
    services: Services,
    settings: Settings,
    sock: socket.socket,
    stack: AsyncExitStack,
) -> list[tuple[str, int]]:
    """Serve the HTTP door on the socket :func:`bind_http` bound; where it listens."""
    door = factory(services, settings)
    runner = web.AppRunner(door.app, access_log=None, handle_signals=False)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    # Unwound first: the door ends its open streams (live pages), or the cleanup would wait
    # for them, and a stop would take minutes while a dashboard tab is open.
    stack.callback(door.close)
    await web.SockSite(runner, sock).start()
    bound = [(str(sock[0]), int(sock[1])) for sock in runner.addresses]
    shown = ", ".join(host_port(host, port) for host, port in bound)
    log.info("HTTP listening on %s", shown)
    if not all(_loopback(host) for host, _ in bound):
        log.warning(
            "http.listen %s is not loopback: /metrics and /healthz answer anyone who can reach "
            "it (no authentication); bind 127.0.0.1 or put a proxy in front",
            settings.http.listen,
        )
    return bound


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
