"""Connecting to NATS as the config says: TLS with the given CA, the nkey of this host, its own
reply inbox, and reconnecting for ever (an edge keeps supervising through a partition).

Errors NATS reports asynchronously (a permissions violation, a refused credential) are logged
once each and counted, so an operator sees a host trying what it may not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import nats
from nats.aio.client import Client

from chatops.config.nats import NatsConfig
from chatops.services.recovery.probes import Check, Status

log = logging.getLogger(__name__)

RETRY_SECONDS = 2


class NatsUnavailable(Exception):
    """The first connection failed (wrong URL, refused TLS or credential)."""


def tls_context(config: NatsConfig) -> ssl.SSLContext | None:
    if not config.tls:
        return None
    context = ssl.create_default_context(
        cafile=str(config.tls_ca) if config.tls_ca is not None else None
    )
    if config.tls_cert is not None and config.tls_key is not None:
        context.load_cert_chain(str(config.tls_cert), str(config.tls_key))
    return context


class NatsErrors:
    """What NATS reported that no request saw: counted by kind, each kind logged once a
    minute at most."""

    def __init__(self, who: str) -> None:
        self.who = who
        self.counts: Counter[str] = Counter()

    async def on_error(self, error: Exception) -> None:
        text = str(error) or type(error).__name__
        kind = "permissions_violation" if "permissions violation" in text.lower() else "other"
        if "authorization violation" in text.lower():
            kind = "authorization_violation"
        self.counts[kind] += 1
        if self.counts[kind] == 1 or self.counts[kind] % 100 == 0:
            log.warning("NATS (%s): %s (%d so far)", self.who, text, self.counts[kind])


async def connect(
    config: NatsConfig,
    *,
    name: str,
    inbox: str | None,
    errors: NatsErrors,
    **callbacks: Any,
) -> Client:
    """A connected client, or :class:`NatsUnavailable` saying why in one line."""
    assert config.url is not None
    options: dict[str, Any] = {
        "servers": [config.url],
        "name": name,
        "tls": tls_context(config),
        "error_cb": errors.on_error,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 1,
        # The first attempt fails at once with its reason (nats-py would retry it for ever);
        # once connected, it reconnects for ever (see below).
        "allow_reconnect": False,
        "connect_timeout": 5,
        **callbacks,
    }
    if inbox is not None:
        options["inbox_prefix"] = inbox.encode()
    if config.credentials is not None:
        try:
            options["nkeys_seed_str"] = config.credentials.read_text().strip()
        except OSError as exc:
            raise NatsUnavailable(f"cannot read nats.credentials: {exc}") from None
    try:
        client = await nats.connect(**options)
    except Exception as exc:  # nats-py raises many kinds; the operator needs one line
        raise NatsUnavailable(
            f"cannot connect to NATS at {config.url}: {str(exc) or type(exc).__name__}"
        ) from exc
    client.options["allow_reconnect"] = True  # read by nats-py at each disconnect
    return client


class Connection:
    """One NATS connection kept up: tried again every few seconds until the first succeeds
    (an edge starts and supervises with its hub away), then nats-py reconnects by itself.
    ``on_connect`` subscribes once the first connection is up."""

    def __init__(
        self,
        config: NatsConfig,
        *,
        name: str,
        inbox: str | None,
        errors: NatsErrors,
        on_connect: Callable[[Client], Awaitable[None]],
    ) -> None:
        self._config = config
        self._name = name
        self._inbox = inbox
        self.errors = errors
        self._on_connect = on_connect
        self.client: Client | None = None
        self.ready = asyncio.Event()
        """Set while connected (cleared on a disconnect, set again on reconnect)."""

    @property
    def connected(self) -> bool:
        return self.client is not None and self.client.is_connected

    async def run(self) -> None:
        failures = 0
        while self.client is None:
            try:
                client = await connect(
                    self._config,
                    name=self._name,
                    inbox=self._inbox,
                    errors=self.errors,
                    disconnected_cb=self._disconnected,
                    reconnected_cb=self._reconnected,
                )
            except NatsUnavailable as exc:
                if failures % 30 == 0:
                    log.warning("%s; trying again every %ds", exc, RETRY_SECONDS)
                failures += 1
                await asyncio.sleep(RETRY_SECONDS)
                continue
            await self._on_connect(client)
            self.client = client
            self.ready.set()
            log.info("%s connected to NATS at %s", self._name, self._config.url)

    async def _disconnected(self) -> None:
        self.ready.clear()
        if self.client is None:
            return  # closing
        log.warning("%s lost its NATS connection; reconnecting", self._name)

    async def _reconnected(self) -> None:
        self.ready.set()
        log.info("%s reconnected to NATS", self._name)

    async def close(self) -> None:
        client, self.client = self.client, None
        self.ready.clear()
        if client is not None and not client.is_closed:
            with contextlib.suppress(Exception):
                await client.drain(timeout=2)  # type: ignore[call-arg]
            with contextlib.suppress(Exception):
                await client.close()


def nats_check(connection: Connection, url: str | None, backlog: int | None = None) -> Check:
    """``chatops doctor``'s ``nats`` line: connected or not, what waits, what NATS refused."""
    refused = sum(count for kind, count in connection.errors.counts.items() if kind != "other")
    parts = [f"connected to {url}" if connection.connected else f"not connected to {url}"]
    if backlog:
        parts.append(f"{backlog} events waiting for the hub")
    if refused:
        parts.append(f"{refused} refused by NATS (permissions or credential; see the log)")
    status: Status = "ok" if connection.connected and not refused else "warning"
    return Check("nats", status, None, "; ".join(parts))
