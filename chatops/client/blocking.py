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
    socket_path: str | os.PathLike[str] | None, body: dict[str, Any], *, timeout: float = 1.0
) -> None:
    """Send one request without an ``id``: nothing is answered, nothing is waited for (a
    hook's report on the hot path of every tool call). Raises OSError when it cannot be sent."""
    line = json.dumps(body, separators=(",", ":")).encode() + b"\n"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(resolve_socket_path(socket_path)))
        sock.sendall(line)


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


def pipeline_json(
    socket_path: str | os.PathLike[str], bodies: list[dict[str, Any]], *, timeout: float
) -> list[dict[str, Any] | None]:
    """Send every body on one connection at once (ids 1…n) and collect the replies until all
    are in or ``timeout`` (for the whole exchange) has passed: each body's reply, ``ok`` or
    not, or None when none came in time. For a caller that must never wait on a slow
    controller (the status line); raises OSError only when it cannot connect or send."""
    import time

    deadline = time.monotonic() + timeout
    lines = b"".join(
        json.dumps({**body, "id": number}, separators=(",", ":")).encode() + b"\n"
        for number, body in enumerate(bodies, 1)
    )
    replies: list[dict[str, Any] | None] = [None] * len(bodies)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(socket_path))
        sock.sendall(lines)
        buffer = b""
        waiting = len(bodies)
        while waiting and (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                chunk = sock.recv(65536)
            except OSError:  # the deadline, or the controller went away: what came is kept
                break
            if not chunk:
                break
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                try:
                    reply = json.loads(line)
                except ValueError:
                    continue
                number = reply.get("id") if isinstance(reply, dict) else None
                if isinstance(number, int) and 1 <= number <= len(bodies):
                    if replies[number - 1] is None:
                        waiting -= 1
                    replies[number - 1] = reply
    return replies
