"""The protocol's building blocks: the field types and bounds every message uses, the base of
every request, and the cap on free-form members. :mod:`chatops.wire.protocol` is the wire format;
this module only keeps it from being one file of a thousand lines."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

PROTOCOL_VERSION = 1

# Names are printed by every front end: no control characters (C0, DEL, C1), so a name can
# never carry a terminal escape sequence or break a line. Any short label on the wire uses it.
PRINTABLE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]+\Z"  # \Z: "$" lets a final newline through
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=PRINTABLE_PATTERN)]
RegisteredName = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
"""A name that means something only if it is registered already (a heartbeat's channel): its
registration checked it as a :data:`Name`, and one that matches no bot is refused
``not_registered``, its repr in the message. The pattern (a regex call per string, about a tenth
of the controller's CPU at 10,000 heartbeats a second) is not run again."""
Text = Annotated[str, msgspec.Meta(max_length=2000)]
Pid = Annotated[int, msgspec.Meta(gt=0, le=2**31 - 1)]
RequestId = int | str | None
IdemKey = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=PRINTABLE_PATTERN)]

# Per-call maxima: far above any real value, low enough that a year of sums stays exact in
# SQLite's 64-bit integers and finite in its doubles.
MAX_TOKENS = 100_000_000
MAX_COST = 100_000.0
MAX_MS = 30 * 86_400_000
MAX_RSS_MB = 16_777_216.0  # 16 TiB
MAX_CPU_PCT = 100.0 * 4096
Tokens = Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKENS)]
Millis = Annotated[int, msgspec.Meta(ge=0, le=MAX_MS)]
Cost = Annotated[float, msgspec.Meta(ge=0, le=MAX_COST)]
RssMb = Annotated[float, msgspec.Meta(ge=0, le=MAX_RSS_MB)]
CpuPct = Annotated[float, msgspec.Meta(ge=0, le=MAX_CPU_PCT)]
# Seconds since the epoch, 2001 to 2286: a value in milliseconds is refused here, by type; the
# window around the controller's clock is checked by the services
# (``chatops.services.idempotency.event_time``).
EpochSeconds = Annotated[float, msgspec.Meta(ge=1e9, lt=1e10)]

# ``features`` is copied into bot_metrics rows: its encoded size is capped.
MAX_FEATURES_BYTES = 4096
MAX_FEATURES_KEYS = 64


json_encoder = msgspec.json.Encoder()
"""The one JSON encoder of the wire: requests, replies and pushes are encoded with it."""


class RequestBase(msgspec.Struct, tag_field="type", kw_only=True, forbid_unknown_fields=False):
    """The base of every request: its ``type`` tag (the subclass's ``tag``) and the optional
    ``id`` a reply echoes. Unknown fields are ignored, so a newer agent still talks to an older
    controller."""

    id: RequestId = None


def cap_encoded(name: str, value: Any, limit: int, hint: str = "") -> None:
    """Refuse (``ValueError``, hence an ``invalid_message`` reply) a free-form member whose JSON
    encoding is longer than ``limit`` bytes: such a member is stored or shown, so its size is
    capped. ``hint`` is appended to the message."""
    size = len(json_encoder.encode(value))
    if size > limit:
        raise ValueError(f"{name} is {size} bytes encoded, more than {limit}{hint} - at `$.{name}`")
