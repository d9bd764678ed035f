"""Requests built as the protocol's own types and checked before they leave the bot."""

from __future__ import annotations

import logging
from typing import Any, TypeVar

import msgspec

from chatops.wire.protocol import Message

log = logging.getLogger("chatops.client")

M = TypeVar("M", bound=Message)


def checked(kind: type[M], **fields: Any) -> M | None:
    """``kind`` built from ``fields`` and validated as the monitor will; None (and a warning)
    when a field is wrong, so a bad call never raises into the bot."""
    try:
        return msgspec.convert(
            {name: value for name, value in fields.items() if value is not None}, kind
        )
    except msgspec.ValidationError as exc:
        log.warning("not sent: %s %s", kind.__name__, exc)
        return None
