"""The wire format, defined in one place: messages, framing, replies and error codes.

Newline-delimited JSON. The seed's five messages (``register``, ``heartbeat``, ``unregister``,
``llm_usage``, ``get_status``) decode exactly as the seed writes them; every other field is
optional. A request carrying ``id`` is answered ``{"id": …, "ok": true, …}`` or
``{"id": …, "ok": false, "error": {"code": …, "message": …}}``. See ``docs/protocol.md``.

Framing (:class:`LineFramer`), decoding (:func:`decode`) and reply encoding are free of any
transport, so a TLS listener or server-initiated pushes reuse them unchanged.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

import msgspec

PROTOCOL_VERSION = 1

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Text = Annotated[str, msgspec.Meta(max_length=2000)]
Pid = Annotated[int, msgspec.Meta(gt=0, le=2**31 - 1)]
Count = Annotated[int, msgspec.Meta(ge=0, le=2**53)]
NonNegative = Annotated[float, msgspec.Meta(ge=0)]
RequestId = int | str | None
IdemKey = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class ErrorCode(StrEnum):
    INVALID_JSON = "invalid_json"
    INVALID_MESSAGE = "invalid_message"
    UNKNOWN_TYPE = "unknown_type"
    LINE_TOO_LONG = "line_too_long"
    PERMISSION_DENIED = "permission_denied"
    NOT_FOUND = "not_found"
    STORAGE_ERROR = "storage_error"
    SHUTTING_DOWN = "shutting_down"
    INTERNAL_ERROR = "internal_error"


class ProtocolError(Exception):
    """A request that cannot be served; becomes a typed error reply, never a dropped connection."""

    def __init__(self, code: ErrorCode, message: str, request_id: RequestId = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


class _Message(msgspec.Struct, tag_field="type", kw_only=True, forbid_unknown_fields=False):
    id: RequestId = None


class Register(_Message, tag="register"):
    channel: Name
    pid: Pid
    features: dict[str, Any] = msgspec.field(default_factory=dict)
    host: Name | None = None


class Heartbeat(_Message, tag="heartbeat"):
    channel: Name
    pid: Pid | None = None
    rss_mb: NonNegative | None = None
    cpu_pct: NonNegative | None = None
    ts: float | None = None


class Unregister(_Message, tag="unregister"):
    channel: Name
    pid: Pid | None = None


class LlmUsage(_Message, tag="llm_usage"):
    channel: Name
    model: Name
    feature: Name | None = None
    tokens_in: Count = 0
    tokens_out: Count = 0
    latency_ms: Count | None = None
    estimated_cost: NonNegative = 0.0
    key: IdemKey | None = None
    ts: float | None = None


class GetStatus(_Message, tag="get_status"):
    channel: Name | None = None


class Hello(_Message, tag="hello"):
    client: Text | None = None
    protocol: int | None = None


class Ping(_Message, tag="ping"):
    pass


class AgentStatus(_Message, tag="agent_status"):
    """The agent seed's ``update_agent_status``: what an agent is doing right now."""

    agent: Name
    status: Literal["idle", "processing", "error"]
    agent_type: Name | None = None
    channel: Name | None = None
    current_task: Text | None = None
    error_message: Text | None = None


class TaskResult(_Message, tag="task_result"):
    """The agent seed's ``increment_agent_tasks``: one finished task, counted exactly once."""

    agent: Name
    success: bool
    task: Text | None = None
    duration_ms: Count | None = None
    error_message: Text | None = None
    key: IdemKey | None = None
    ts: float | None = None


class GetUsage(_Message, tag="get_usage"):
    channel: Name | None = None
    days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 30


Message = (
    Register
    | Heartbeat
    | Unregister
    | LlmUsage
    | GetStatus
    | Hello
    | Ping
    | AgentStatus
    | TaskResult
    | GetUsage
)

MESSAGE_TYPES: frozenset[str] = frozenset(
    str(cls.__struct_config__.tag)
    for cls in (
        Register,
        Heartbeat,
        Unregister,
        LlmUsage,
        GetStatus,
        Hello,
        Ping,
        AgentStatus,
        TaskResult,
        GetUsage,
    )
)

_decoder = msgspec.json.Decoder(Message)
_encoder = msgspec.json.Encoder()


def decode(line: bytes) -> Message:
    """Decode one line or raise :class:`ProtocolError` with the precise error code."""
    try:
        message: Message = _decoder.decode(line)
        return message
    except msgspec.ValidationError as exc:
        raise _classify(line, exc) from None
    except msgspec.DecodeError as exc:
        raise ProtocolError(ErrorCode.INVALID_JSON, f"not valid JSON: {exc}") from None


def _classify(line: bytes, exc: msgspec.ValidationError) -> ProtocolError:
    """Tell an unknown type from a bad field, echoing the request id when there is one."""
    try:
        raw = msgspec.json.decode(line)
    except msgspec.DecodeError as decode_error:
        # Validation can fail on a prefix before the parser reaches the malformed part.
        return ProtocolError(ErrorCode.INVALID_JSON, f"not valid JSON: {decode_error}")
    if not isinstance(raw, dict):
        return ProtocolError(ErrorCode.INVALID_MESSAGE, "a message must be a JSON object")
    request_id = raw.get("id")
    if not isinstance(request_id, int | str) or isinstance(request_id, bool):
        request_id = None
    kind = raw.get("type")
    if kind not in MESSAGE_TYPES:
        return ProtocolError(
            ErrorCode.UNKNOWN_TYPE, f"unknown message type {kind!r}", request_id=request_id
        )
    return ProtocolError(ErrorCode.INVALID_MESSAGE, f"{kind}: {exc}", request_id=request_id)


def encode(payload: dict[str, Any]) -> bytes:
    """One reply or push as a framed line."""
    return _encoder.encode(payload) + b"\n"


def ok_reply(request_id: RequestId, body: dict[str, Any] | None = None) -> bytes:
    payload: dict[str, Any] = {"id": request_id, "ok": True}
    if body:
        payload.update(body)
    return encode(payload)


def error_reply(code: ErrorCode, message: str, request_id: RequestId = None) -> bytes:
    return encode({"id": request_id, "ok": False, "error": {"code": str(code), "message": message}})


class LineFramer:
    """Splits a byte stream into lines and bounds how long one may grow.

    ``feed`` returns the complete lines and whether the limit was crossed; the lines before the
    crossing are still returned so a well-formed pipeline ahead of a bad line is not lost.
    """

    __slots__ = ("_buffer", "max_line")

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self._buffer = b""

    def feed(self, data: bytes) -> tuple[list[bytes], bool]:
        if self._buffer:
            data = self._buffer + data
        parts = data.split(b"\n")
        self._buffer = parts.pop()
        limit = self.max_line
        lines: list[bytes] = []
        for part in parts:
            if len(part) > limit:
                return lines, True
            if part and part != b"\r":
                lines.append(part)
        if len(self._buffer) > limit:
            return lines, True
        return lines, False
