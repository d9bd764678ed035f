"""Pushes: what the controller says first, to the connection that owns a bot (part of the wire
format of :mod:`chatops.wire.protocol`). A push that carries a ``push_id`` is answered by the
agent with a ``push_reply`` request."""

from __future__ import annotations

import typing
from typing import Any, Literal

import msgspec

from chatops.wire.fields import Name, Text, json_encoder


class _Push(msgspec.Struct, tag_field="type", kw_only=True, forbid_unknown_fields=False):
    push_id: int | None = None
    """Set when the controller waits for an answer: the agent replies ``push_reply`` with it."""


class Control(_Push, tag="control"):
    """Ask the bot ``channel`` to do something to itself. ``register``: register again (sent
    when the controller rebuilds its statuses); further actions (``restart``) are the bot's
    registered handlers' business, and an action it has no handler for is answered ``ok:
    false``."""

    channel: Name
    action: Name
    reason: Text | None = None
    args: dict[str, Any] = msgspec.field(default_factory=dict)


class ApprovalDecision(_Push, tag="approval_decision"):
    """The answer to an approval the agent asked for: ``approve`` or ``deny``, and why."""

    request: int | Name
    decision: Literal["approve", "deny"]
    reason: Text | None = None
    decided_by: Text | None = None


class Push(_Push, tag="push"):
    """A generic push for features to come: a topic and its data."""

    topic: Name
    data: dict[str, Any] = msgspec.field(default_factory=dict)


ServerPush = Control | ApprovalDecision | Push
PUSH_TYPES: frozenset[str] = frozenset(
    str(cls.__struct_config__.tag) for cls in typing.get_args(ServerPush)
)
_push_decoder = msgspec.json.Decoder(ServerPush)


def encode_push(push: ServerPush) -> bytes:
    return json_encoder.encode(push) + b"\n"


def decode_push(line: bytes) -> ServerPush:
    """For agents: one pushed line as its type; raises ``msgspec.DecodeError`` when malformed."""
    push: ServerPush = _push_decoder.decode(line)
    return push
