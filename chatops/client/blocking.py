"""One synchronous request over the socket, for the CLI and for bots that are not async.

Light on purpose: the protocol's types (and msgspec with them) are imported only when a typed
message is encoded, so a caller that sends a plain JSON body (the Claude Code hook, on every
tool call) pays for ``json`` and ``socket`` alone.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatops.config_file import SOCKET_ENV, environment_value
from chatops.paths import default_socket_path

if TYPE_CHECKING:
    from chatops.wire.protocol import Message


class MonitorError(Exception):
    """The monitor answered with an error reply."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def resolve_socket_path(socket_path: str | os.PathLike[str] | None) -> Path:
    """Explicit path, else ``$CHATOPS_MONITORING__SOCKET_PATH``, else the controller's default."""
    if socket_path:
        return Path(socket_path)
    from_env = environment_value(SOCKET_ENV)
    return Path(from_env) if from_env else default_socket_path()


def request(
    socket_path: str | os.PathLike[str] | None, message: Message, *, timeout: float = 5.0
) -> dict[str, Any]:
    """Send one request (the protocol's own type; an ``id`` is added) and return the reply.

    Raises OSError when the monitor cannot be reached or does not answer in time, ValueError
    for a reply that is not a JSON object, and :class:`MonitorError` for an error reply.
    """
    import msgspec

    from chatops.wire.protocol import encode_message

    line = encode_message(msgspec.structs.replace(message, id=1))
    return exchange(socket_path, line, timeout=timeout)


def request_json(
    socket_path: str | os.PathLike[str] | None, body: dict[str, Any], *, timeout: float = 5.0
) -> dict[str, Any]:
    """:func:`request` for a body already shaped as the protocol's JSON (``type`` and fields);
    the monitor validates it like any other line."""
    line = json.dumps({**body, "id": 1}, separators=(",", ":")).encode() + b"\n"
    return exchange(socket_path, line, timeout=timeout)


def send_json(
    socket_path: str | os.PathLike[str] | None,
    *bodies: dict[str, Any],
    timeout: float = 1.0,
) -> None:
    """Send requests without an ``id`` on one connection: nothing is answered, nothing is
    waited for (a hook's report on every tool call, the status line on every redraw; what a
    report carries is cumulative or absolute, so the next one makes up for a lost one). Raises
    OSError when they cannot be sent."""
    lines = b"".join(json.dumps(body, separators=(",", ":")).encode() + b"\n" for body in bodies)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(resolve_socket_path(socket_path)))
        sock.sendall(lines)


def exchange(
    socket_path: str | os.PathLike[str] | None, line: bytes, *, timeout: float
) -> dict[str, Any]:
    """One framed line out, the first line back, decoded and checked."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(resolve_socket_path(socket_path)))
        sock.sendall(line)
        buffer = b""
        while b"\n" not in buffer:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("monitor closed the connection without answering")
            buffer += chunk
    reply = json.loads(buffer.split(b"\n", 1)[0])
    if not isinstance(reply, dict):
        raise ValueError("the monitor's reply is not a JSON object")
    if not reply.get("ok"):
        error = reply.get("error") or {}
        raise MonitorError(str(error.get("code")), str(error.get("message")))
    return reply
