"""Fleet snapshots for ``get_status``, encoded once per change instead of once per read.

A status reply for 10,000 bots is megabytes of JSON; building it from dicts on every call held
the event loop for ~50 ms, during which no heartbeat was read. Each bot's (and agent's) JSON
is kept here with the revision it was encoded at, so a read re-encodes only what changed since
the previous read and joins the rest as bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Generic, Protocol, TypeVar

import msgspec

_encoder = msgspec.json.Encoder()


class _Revisioned(Protocol):
    @property
    def revision(self) -> int: ...


T = TypeVar("T", bound=_Revisioned)


class EncodedCache(Generic[T]):
    """Per-item encoded JSON, valid while the item's revision is unchanged."""

    def __init__(self, key: Callable[[T], str], to_dict: Callable[[T], dict[str, Any]]) -> None:
        self._key = key
        self._to_dict = to_dict
        self._entries: dict[str, tuple[int, bytes]] = {}

    def encode_list(self, items: Iterable[T]) -> bytes:
        """A JSON array of ``items`` (names are never removed from the fleet, so neither are
        entries)."""
        entries = self._entries
        parts: list[bytes] = []
        for item in items:
            name = self._key(item)
            entry = entries.get(name)
            if entry is None or entry[0] != item.revision:
                entry = entries[name] = (item.revision, _encoder.encode(self._to_dict(item)))
            parts.append(entry[1])
        return b"[" + b",".join(parts) + b"]"
