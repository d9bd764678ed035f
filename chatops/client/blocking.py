"""One synchronous request over the socket, for the CLI and for bots that are not async."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import msgspec

from chatops.paths import default_socket_path
from chatops.wire.protocol import Message, encode_message


class MonitorError(Exception):
    """The monitor answered with an error reply."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def resolve_socket_path(socket_path: str | os.PathLike[str] | None) -> Path:
    """Explicit path, else ``$CHATOPS_MONITORING__SOCKET_PATH``, else the controller's default."""
    if socket_path:
        return Path(socket_path)
    from_env = os.environ.get("CHATOPS_MONITORING__SOCKET_PATH")
    return Path(from_env) if from_env else default_socket_path()


def request(
    socket_path: str | os.PathLike[str] | None, message: Message, *, timeout: float = 5.0
) -> dict[str, Any]:
    """Send one request (the protocol's own type; an ``id`` is added) and return the reply.

    Raises OSError when the monitor cannot be reached or does not answer in time, and
    :class:`MonitorError` for an error reply.
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(resolve_socket_path(socket_path)))
        sock.sendall(encode_message(msgspec.structs.replace(message, id=1)))
        buffer = b""
        while b"\n" not in buffer:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("monitor closed the connection without answering")
            buffer += chunk
    reply: dict[str, Any] = json.loads(buffer.split(b"\n", 1)[0])
    if not reply.get("ok"):
        error = reply.get("error") or {}
        raise MonitorError(str(error.get("code")), str(error.get("message")))
    return reply
