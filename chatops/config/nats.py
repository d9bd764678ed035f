"""The ``nats`` section (the link between edges and their hub) and the ``edge`` section (this
host's name when it runs ``chatops edge``).

NATS carries everything between hosts; its security is NATS's own: TLS to the server, one nkey
per host allowed only its own subjects. A plain ``nats://`` URL sends credentials-signed but
unencrypted traffic, so it is accepted only on loopback (one machine, tests) unless
``allow_plaintext`` says the network is trusted.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

HOST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}\Z")
"""An edge's name is one NATS subject token (no dots, no wildcards) and reads as a hostname."""

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def default_host_name() -> str:
    """The machine's hostname up to its first dot, in the characters a subject token allows."""
    name = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname().split(".")[0]).strip("-")
    return name[:63] or "host"


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class NatsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = None
    """``tls://nats.example:4222`` (or ``nats://`` on loopback). Set on ``chatops run``: this
    controller is a hub, taking in every edge. Required by ``chatops edge``."""
    allow_plaintext: bool = False
    """Accept ``nats://`` to a host other than loopback (a network you trust end to end)."""
    credentials: Path | None = None
    """The nkey seed file this process signs in with: ``HOST.nk`` from ``chatops edge
    credentials create HOST`` on an edge, ``hub.nk`` on the hub."""
    tls_ca: Path | None = None
    """The CA that signed the NATS server's certificate (default: the system's)."""
    tls_cert: Path | None = None
    tls_key: Path | None = None
    """A client certificate, when the server asks for one (``verify: true``)."""
    subject_prefix: str = Field("chatops", pattern=r"^[A-Za-z0-9_-]+$")
    """Every subject starts with it (``chatops.edge.<host>.…``); one NATS for two fleets."""
    stream: str = Field("CHATOPS_EDGES", pattern=r"^[A-Za-z0-9_-]+$")
    """The JetStream stream the hub creates for the edges' events."""
    stream_replicas: int = Field(1, ge=1, le=5)
    """JetStream copies of the stream: 3 on a cluster of three nats-servers."""
    duplicate_window: float = Field(86400, gt=0)
    """Seconds JetStream remembers an event's id: a resend within it is stored once. The hub
    also drops a replay it has stored already, so a longer partition costs nothing twice."""
    host_timeout: float | None = Field(None, gt=0)
    """Seconds without a word from an edge before its host is down (default: three of its
    beats, which come every heartbeat_interval and at least every 5 s: 15 s)."""
    request_timeout: float = Field(10, gt=0)
    """Seconds the hub waits for an edge to answer a command (a restart's own wait is added)."""
    credentials_dir: Path | None = None
    """Where ``chatops edge credentials`` keeps the nkeys and ``users.conf`` for nats-server
    (default: ``nats/`` beside the database)."""
    server_pid_file: Path | None = None
    """nats-server's ``pid_file``: ``credentials create|revoke`` signal it to reload, so a
    revoked host is cut off at once."""

    @field_validator("url")
    @classmethod
    def _scheme(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("tls", "nats"):
            raise ValueError(f"{value!r}: use tls://host:4222 (or nats:// on loopback)")
        if not parts.hostname:
            raise ValueError(f"{value!r} names no host")
        if parts.username or parts.password:
            raise ValueError("put no credentials in nats.url: use nats.credentials (an nkey)")
        return value.strip()

    @model_validator(mode="after")
    def _plaintext_on_loopback_only(self) -> NatsConfig:
        if self.url is None:
            return self
        parts = urlsplit(self.url)
        plaintext = parts.scheme == "nats" and not self.allow_plaintext
        if plaintext and not is_loopback(parts.hostname or ""):
            raise ValueError(
                f"nats.url {self.url} is plaintext to another host: use tls://, or set "
                "nats.allow_plaintext: true on a network you trust"
            )
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("nats.tls_cert and nats.tls_key go together")
        return self

    @property
    def tls(self) -> bool:
        return self.url is not None and self.url.startswith("tls://")


class EdgeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default_factory=default_host_name)
    """This host in the fleet (default: the hostname); two edges on one machine need two."""

    @field_validator("name")
    @classmethod
    def _token(cls, value: str) -> str:
        if not HOST_NAME.match(value):
            raise ValueError(
                f"{value!r}: an edge's name is letters, digits, '-' and '_' (no dots), at most 63"
            )
        return value
