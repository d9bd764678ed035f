"""What edges and their hub say to each other over NATS: subjects and message bodies.

Subjects, under ``nats.subject_prefix`` (``chatops``) and one host's name::

    chatops.edge.<host>.beat              core NATS, one per heartbeat_interval: bots that changed
    chatops.edge.<host>.events.<kind>     JetStream, Nats-Msg-Id = the event's idempotency key
    chatops.edge.<host>.cmd.<action>      request/reply, from the hub, answered by the edge
    _INBOX_<host>.>                       the edge's own reply inbox

An edge's credential may publish and subscribe under its own ``chatops.edge.<host>.>`` and its
own inbox only, so a host cannot speak for another (see :mod:`chatops.nats.credentials`).
Bodies are JSON (msgspec), each a tagged struct, so a malformed one is refused by type.
"""

from __future__ import annotations

from typing import Any

import msgspec

from chatops.records.hosts import BotReport, RemoteCacheEntry


class Subjects:
    """Every subject of one host (``*`` for the hub's wildcard subscriptions)."""

    def __init__(self, prefix: str, host: str) -> None:
        self.root = f"{prefix}.edge.{host}"
        self.beat = f"{self.root}.beat"
        self.commands = f"{self.root}.cmd.>"
        self.inbox = f"_INBOX_{host}"

    def event(self, kind: str) -> str:
        return f"{self.root}.events.{kind}"

    def command(self, action: str) -> str:
        return f"{self.root}.cmd.{action}"


def host_of(subject: str, prefix: str) -> str | None:
    """The host a subject belongs to (``chatops.edge.<host>.…``), None if it is not an edge's."""
    parts = subject.split(".")
    head = prefix.split(".")
    if parts[: len(head)] != head or parts[len(head) : len(head) + 1] != ["edge"]:
        return None
    rest = parts[len(head) + 1 :]
    return rest[0] if len(rest) >= 2 else None


class Beat(msgspec.Struct, tag="beat", kw_only=True):
    host: str
    seq: int
    """Counts up from 1 for each start of the edge: a gap means a beat was lost."""
    started_at: float
    """The edge's start: a new value is a new life, whose list the hub asks for."""
    bots: list[BotReport] = msgspec.field(default_factory=list)


class BotChanged(msgspec.Struct, tag="bot", kw_only=True):
    """A registration, a transition or a bot leaving: the bot as it is after it."""

    bot: BotReport


class UsageReported(msgspec.Struct, tag="usage", kw_only=True):
    name: str
    model: str
    ts: float
    feature: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: int | None = None
    cost: float = 0.0


class AgentChanged(msgspec.Struct, tag="agent", kw_only=True):
    """An agent's status as it reported it (``agent_status``)."""

    name: str
    status: str
    agent_type: str | None = None
    channel: str | None = None
    current_task: str | None = None
    error_message: str | None = None


class AgentTask(msgspec.Struct, tag="task", kw_only=True):
    """One task's outcome (``task_result``): counted once at the hub, by the event's id."""

    name: str
    success: bool
    ts: float
    task: str | None = None
    duration_ms: int | None = None
    error_message: str | None = None


class CacheIndexed(msgspec.Struct, tag="cache", kw_only=True):
    """A cache entry as the edge's index holds it now (None: it left the index)."""

    task_id: str
    entry: RemoteCacheEntry | None = None


class ApprovalAsked(msgspec.Struct, tag="approval", kw_only=True):
    """A request on the edge that waits for a human: the hub asks its approvers."""

    request_id: int
    agent: str
    action_type: str
    data: dict[str, Any]
    timeout: float


class ApprovalEnded(msgspec.Struct, tag="approval_end", kw_only=True):
    """The edge's request ended without the hub (its agent left, it expired there)."""

    request_id: int
    state: str
    reason: str = ""


Event = (
    BotChanged
    | UsageReported
    | AgentChanged
    | AgentTask
    | CacheIndexed
    | ApprovalAsked
    | ApprovalEnded
)
EVENT_KINDS: dict[type, str] = {
    BotChanged: "bot",
    UsageReported: "usage",
    AgentChanged: "agent",
    AgentTask: "agent",
    CacheIndexed: "cache",
    ApprovalAsked: "approval",
    ApprovalEnded: "approval",
}


class Command(msgspec.Struct, kw_only=True):
    """From the hub: ``restart``, ``approval_answer``, ``cache_plan``, ``cache_execute``,
    ``resync``, and ``tell`` / ``ask`` (a push to a bot's connection, as ``AgentLink`` does)."""

    bot: str | None = None
    by: str = ""
    reason: str | None = None
    args: dict[str, Any] = msgspec.field(default_factory=dict)


class Answer(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The edge's answer: ``error`` (a code, as the socket's) and ``message`` when it could
    not, else ``data``."""

    data: dict[str, Any] = msgspec.field(default_factory=dict)
    error: str | None = None
    message: str = ""


class Resync(msgspec.Struct, kw_only=True):
    """An edge's whole state for its hub: every bot and its cache index."""

    bots: list[BotReport]
    cache: list[RemoteCacheEntry] = msgspec.field(default_factory=list)


EVENT_DECODER = msgspec.json.Decoder(Event)
BEAT_DECODER = msgspec.json.Decoder(Beat)
COMMAND_DECODER = msgspec.json.Decoder(Command)
ANSWER_DECODER = msgspec.json.Decoder(Answer)
ENCODER = msgspec.json.Encoder()


def event_kind(event: Event) -> str:
    """The last token of its subject (what a consumer may filter on)."""
    return EVENT_KINDS[type(event)]
