"""What the controller answers: the error codes, the error a request is refused with, and the
encoded success and error replies. Part of the wire format of :mod:`chatops.wire.protocol`,
which re-exports them; kept apart from the messages because the connection and every door
answer with them, whatever the request."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from chatops.wire.fields import RequestId, json_encoder


class ErrorCode(StrEnum):
    INVALID_JSON = "invalid_json"
    INVALID_MESSAGE = "invalid_message"
    UNKNOWN_TYPE = "unknown_type"
    LINE_TOO_LONG = "line_too_long"
    PERMISSION_DENIED = "permission_denied"
    NOT_REGISTERED = "not_registered"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    TOO_MANY_ERRORS = "too_many_errors"
    TOO_MANY_CONNECTIONS = "too_many_connections"
    HANDSHAKE_TIMEOUT = "handshake_timeout"
    STORAGE_ERROR = "storage_error"
    TIMEOUT = "timeout"
    SHUTTING_DOWN = "shutting_down"
    INTERNAL_ERROR = "internal_error"


class ProtocolError(Exception):
    """A request that cannot be served; becomes a typed error reply, never a dropped connection."""

    def __init__(self, code: ErrorCode, message: str, request_id: RequestId = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


def encode(payload: dict[str, Any]) -> bytes:
    """One reply or push as a framed line."""
    return json_encoder.encode(payload) + b"\n"


def ok_reply(
    request_id: RequestId, body: dict[str, Any] | None = None, raw: Sequence[bytes] = ()
) -> bytes:
    """A success reply; ``raw`` is pre-encoded ``"key":value`` members, in pieces, spliced in
    as they are (a cached fleet snapshot): a large reply is copied once, never re-encoded."""
    payload: dict[str, Any] = {"id": request_id, "ok": True}
    if body:
        payload.update(body)
    if not raw:
        return encode(payload)
    return b"".join((json_encoder.encode(payload)[:-1], b",", *raw, b"}\n"))


def error_reply(code: ErrorCode, message: str, request_id: RequestId = None) -> bytes:
    return encode({"id": request_id, "ok": False, "error": {"code": str(code), "message": message}})
