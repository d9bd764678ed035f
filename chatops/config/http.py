"""The ``http`` section (the controller's one HTTP listener: ``/metrics``, ``/healthz``) and the
``metrics`` section (what ``/metrics`` shows)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator


class HttpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    listen: str = ""
    """``host:port`` (``[::1]:9464`` for IPv6; port 0: any free port, logged); empty: no HTTP
    listener. The example config binds loopback: the endpoints answer anyone who can reach
    them."""

    @field_validator("listen", mode="before")
    @classmethod
    def _not_a_bare_port(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValueError(f"{value} is a port alone; write host:port, e.g. 127.0.0.1:{value}")
        return value

    @field_validator("listen")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        value = value.strip()
        if value:
            split_listen(value)
        return value

    @property
    def address(self) -> tuple[str, int] | None:
        """``(host, port)`` to bind, None when off."""
        return split_listen(self.listen) if self.listen else None


def split_listen(value: str) -> tuple[str, int]:
    """``host:port`` → ``(host, port)``; raises ValueError saying what is wrong."""
    host, sep, port_text = value.rpartition(":")
    if not sep or not host:
        raise ValueError(f"{value!r} is not host:port (for example 127.0.0.1:9464)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{host!r} is not an IPv6 address") from None
    elif ":" in host:
        raise ValueError(f"{value!r}: write an IPv6 host in brackets, e.g. [::1]:9464")
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"port {port_text!r} is not a number") from None
    if not 0 <= port < 65536:
        raise ValueError(f"port {port} is not between 0 and 65535")
    return host, port


class WebConfig(BaseModel):
    """The ``web`` section: the dashboard served on ``http.listen``."""

    model_config = ConfigDict(extra="forbid")

    session_hours: float = Field(12, gt=0, le=24 * 30)
    """How long a web session lasts after its login."""
    link_minutes: float = Field(5, gt=0, le=60)
    """How long a one-time login link may wait to be opened."""
    login_attempts: int = Field(10, ge=1, le=1000)
    """Wrong login links one address may try within a minute before it is refused."""
    public_url: str | None = None
    """The dashboard's address as browsers reach it (``https://chatops.example.org``, behind
    a reverse proxy); login links start with it. Unset: ``http://`` + ``http.listen``."""

    @field_validator("public_url")
    @classmethod
    def _http_origin(cls, value: str | None) -> str | None:
        if not value:
            return None  # empty (an environment variable set to ""): unset
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not an http(s) URL (e.g. https://chatops.example.org)")
        if parts.path.strip("/") or parts.query:
            raise ValueError(
                "give the origin only (https://chatops.example.org): the dashboard is served "
                "at the root of its address, not under a path"
            )
        return f"{parts.scheme}://{parts.netloc}"


class MetricsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    llm_by_bot: bool = False
    """Label LLM usage metrics with the bot and feature too. Off by default: every bot times
    every model is a series, and a fleet of 100,000 bots would mean millions of them."""
