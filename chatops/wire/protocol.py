"""The wire format, defined in one place: messages, framing, replies and error codes.

Newline-delimited JSON. The five core messages (``register``, ``heartbeat``, ``unregister``,
``llm_usage``, ``get_status``) decode exactly as older bots send them; every other field is
optional. A request carrying ``id`` is answered ``{"id": …, "ok": true, …}`` or
``{"id": …, "ok": false, "error": {"code": …, "message": …}}``. See ``docs/protocol.md``.

The controller also speaks first: *pushes* (``control``, ``approval_decision``, ``push``) go to
the connection that owns a bot, and a push that carries a ``push_id`` is answered by the agent
with a ``push_reply`` request.

Decoding (:func:`decode`) and reply encoding, like framing (:mod:`chatops.wire.framing`), are
free of any transport, so a TLS listener reuses them unchanged.
"""

from __future__ import annotations

import typing
from typing import Annotated, Any, Literal

import msgspec

from chatops.wire.agent_requests import AgentReply, AgentSession, AwaitReply, UsageTotals
from chatops.wire.feature_requests import (
    ADMIN_CALLS,
    MAX_ACTION_DATA_BYTES,
    ApprovalRequest,
    ApprovalStatsRequest,
    ApprovalTimeout,
    CacheCreate,
    CacheExecute,
    CacheFinish,
    CacheList,
    CachePlan,
    CachePreview,
    CacheRegister,
    CleanKind,
    CleanupExecute,
    CleanupStale,
    Credits,
    DecideApproval,
    GetCacheSummary,
    GetQuotaSummary,
    GetSystemMetrics,
    GetUsageTrends,
    HealthCheck,
    HostRevoked,
    ListApprovals,
    ListSilences,
    ListWebSessions,
    Maintenance,
    ModelUsage,
    Orchestrate,
    OrchestratorCall,
    PlannedEntry,
    PolicyRule,
    PolicyToggle,
    PoolReport,
    ResetStatusCache,
    RestartBot,
    RevokeGrant,
    RevokeWebSession,
    RunDiagnostics,
    SetBudget,
    SilenceBot,
    TaskId,
    Unsilence,
    WebLogin,
    WebRole,
    WindowLabel,
)
from chatops.wire.fields import (
    MAX_COST,
    MAX_CPU_PCT,
    MAX_FEATURES_BYTES,
    MAX_FEATURES_KEYS,
    MAX_MS,
    MAX_RSS_MB,
    MAX_TOKENS,
    PROTOCOL_VERSION,
    Cost,
    CpuPct,
    EpochSeconds,
    IdemKey,
    Millis,
    Name,
    Pid,
    RegisteredName,
    RequestBase,
    RequestId,
    RssMb,
    Text,
    Tokens,
    cap_encoded,
    json_encoder,
)
from chatops.wire.push_messages import (
    PUSH_TYPES,
    ApprovalDecision,
    Control,
    Push,
    ServerPush,
    decode_push,
    encode_push,
)
from chatops.wire.replies import ErrorCode, ProtocolError, encode, error_reply, ok_reply


class Register(RequestBase, tag="register"):
    channel: Name
    pid: Pid
    features: dict[str, Any] = msgspec.field(default_factory=dict)
    host: Name | None = None

    def __post_init__(self) -> None:
        # A ValueError here becomes a ValidationError, hence an ``invalid_message`` reply.
        if len(self.features) > MAX_FEATURES_KEYS:
            raise ValueError(f"features has more than {MAX_FEATURES_KEYS} keys - at `$.features`")
        cap_encoded("features", self.features, MAX_FEATURES_BYTES)


class Heartbeat(RequestBase, tag="heartbeat"):
    channel: RegisteredName
    pid: Pid | None = None
    rss_mb: RssMb | None = None
    cpu_pct: CpuPct | None = None
    ts: EpochSeconds | None = None


class Unregister(RequestBase, tag="unregister"):
    channel: Name
    pid: Pid | None = None


class LlmUsage(RequestBase, tag="llm_usage"):
    channel: Name
    model: Name
    feature: Name | None = None
    tokens_in: Tokens = 0
    tokens_out: Tokens = 0
    latency_ms: Millis | None = None
    estimated_cost: Cost = 0.0
    key: IdemKey | None = None
    ts: EpochSeconds | None = None


class GetStatus(RequestBase, tag="get_status"):
    channel: Name | None = None


class Hello(RequestBase, tag="hello"):
    client: Text | None = None
    protocol: int | None = None


class Ping(RequestBase, tag="ping"):
    pass


class AgentStatus(RequestBase, tag="agent_status"):
    """What an agent is doing right now (``MonitoringDashboard.update_agent_status``)."""

    agent: Name
    status: Literal["idle", "processing", "error"]
    agent_type: Name | None = None
    channel: Name | None = None
    current_task: Text | None = None
    error_message: Text | None = None


class TaskResult(RequestBase, tag="task_result"):
    """One finished task, counted exactly once (``MonitoringDashboard.increment_agent_tasks``)."""

    agent: Name
    success: bool
    task: Text | None = None
    duration_ms: Millis | None = None
    error_message: Text | None = None
    key: IdemKey | None = None
    ts: EpochSeconds | None = None


class GetUsage(RequestBase, tag="get_usage"):
    channel: Name | None = None
    days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 30


class PushReply(RequestBase, tag="push_reply"):
    """An agent's answer to a push that carried a ``push_id``."""

    push_id: Annotated[int, msgspec.Meta(ge=1)]
    ok: bool = True
    result: dict[str, Any] = msgspec.field(default_factory=dict)
    error: Text | None = None


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
    | PushReply
    | ModelUsage
    | GetQuotaSummary
    | GetUsageTrends
    | ApprovalRequest
    | ListApprovals
    | DecideApproval
    | RevokeGrant
    | ApprovalStatsRequest
    | PolicyToggle
    | PolicyRule
    | SilenceBot
    | Maintenance
    | Unsilence
    | ListSilences
    | CacheCreate
    | CacheRegister
    | CacheFinish
    | GetCacheSummary
    | CacheList
    | CachePreview
    | CachePlan
    | CacheExecute
    | RunDiagnostics
    | HealthCheck
    | GetSystemMetrics
    | RestartBot
    | HostRevoked
    | ResetStatusCache
    | CleanupStale
    | Orchestrate
    | CleanupExecute
    | SetBudget
    | WebLogin
    | ListWebSessions
    | RevokeWebSession
    | AgentSession
    | UsageTotals
    | AwaitReply
    | AgentReply
)
"""Every request an agent may send; the server refuses to start without a handler for each."""


def type_name(cls: type) -> str:
    """A request class's ``type`` on the wire (``heartbeat``, ``llm_usage``…)."""
    config = getattr(cls, "__struct_config__", None)
    return str(config.tag) if config is not None and config.tag else cls.__name__


REQUEST_TYPES: frozenset[type[Message]] = frozenset(typing.get_args(Message))
MESSAGE_TYPES: frozenset[str] = frozenset(type_name(cls) for cls in REQUEST_TYPES)


def encode_message(message: Message) -> bytes:
    """For agents: one request as a framed line."""
    return json_encoder.encode(message) + b"\n"


_decoder = msgspec.json.Decoder(Message)

# msgspec reports these two as Python exceptions rather than DecodeError; both are bad input.
_MALFORMED = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)


def decode(line: bytes) -> Message:
    """Decode one line or raise :class:`ProtocolError` with the precise error code.

    Nothing else escapes: invalid UTF-8 inside a string and nesting deeper than the decoder's
    recursion limit are ``invalid_json`` like any other malformed line."""
    try:
        message: Message = _decoder.decode(line)
        return message
    except msgspec.ValidationError as exc:
        raise _classify(line, exc) from None
    except _MALFORMED as exc:
        raise ProtocolError(ErrorCode.INVALID_JSON, _malformed(exc)) from None


def _malformed(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "not valid JSON: nested too deeply"
    if isinstance(exc, UnicodeDecodeError):
        return "not valid JSON: invalid UTF-8 inside a string"
    return f"not valid JSON: {exc}"


def _classify(line: bytes, exc: msgspec.ValidationError) -> ProtocolError:
    """Tell an unknown type from a bad field, echoing the request id when there is one."""
    try:
        raw = msgspec.json.decode(line)
    except _MALFORMED as decode_error:
        # Validation can fail on a prefix before the parser reaches the malformed part.
        return ProtocolError(ErrorCode.INVALID_JSON, _malformed(decode_error))
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


__all__ = [
    "ADMIN_CALLS",
    "MAX_ACTION_DATA_BYTES",
    "MAX_COST",
    "MAX_CPU_PCT",
    "MAX_FEATURES_BYTES",
    "MAX_FEATURES_KEYS",
    "MAX_MS",
    "MAX_RSS_MB",
    "MAX_TOKENS",
    "PROTOCOL_VERSION",
    "PUSH_TYPES",
    "AgentReply",
    "AgentSession",
    "ApprovalDecision",
    "ApprovalRequest",
    "ApprovalStatsRequest",
    "ApprovalTimeout",
    "AwaitReply",
    "CacheCreate",
    "CacheExecute",
    "CacheFinish",
    "CacheList",
    "CachePlan",
    "CachePreview",
    "CacheRegister",
    "CleanKind",
    "CleanupExecute",
    "CleanupStale",
    "Control",
    "Cost",
    "CpuPct",
    "Credits",
    "DecideApproval",
    "EpochSeconds",
    "ErrorCode",
    "GetCacheSummary",
    "GetQuotaSummary",
    "GetSystemMetrics",
    "GetUsageTrends",
    "HealthCheck",
    "HostRevoked",
    "IdemKey",
    "ListApprovals",
    "ListSilences",
    "ListWebSessions",
    "Maintenance",
    "Millis",
    "ModelUsage",
    "Name",
    "Orchestrate",
    "OrchestratorCall",
    "Pid",
    "PlannedEntry",
    "PolicyRule",
    "PolicyToggle",
    "PoolReport",
    "ProtocolError",
    "Push",
    "RequestId",
    "ResetStatusCache",
    "RestartBot",
    "RevokeGrant",
    "RevokeWebSession",
    "RssMb",
    "RunDiagnostics",
    "ServerPush",
    "SetBudget",
    "SilenceBot",
    "TaskId",
    "Text",
    "Tokens",
    "Unsilence",
    "UsageTotals",
    "WebLogin",
    "WebRole",
    "WindowLabel",
    "decode_push",
    "encode",
    "encode_push",
    "error_reply",
    "ok_reply",
]
