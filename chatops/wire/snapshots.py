"""Fleet snapshots for ``get_status``, encoded once per change instead of once per read.

A status reply for 10,000 bots is megabytes of JSON; building it from dicts on every call held
the event loop for ~90 ms, during which no heartbeat was read. Here each bot's (and agent's)
JSON is kept, in fleet order, and replaced only when the service reports that item changed; a
read joins the fragments (C speed), and reuses the joined array while nothing changed. When many
items changed since the last read, they are re-encoded in slices of :data:`SLICE` with a yield
to the loop between slices, so no read holds the loop for more than a few milliseconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import msgspec

_encoder = msgspec.json.Encoder()

SLICE = 500
"""Items encoded per turn of the event loop (about 2 ms)."""

T = TypeVar("T")


class EncodedList(Generic[T]):
    """A JSON array of items, re-encoding only the items marked changed since the last read."""

    def __init__(self, key: Callable[[T], str], to_dict: Callable[[T], dict[str, Any]]) -> None:
        self._key = key
        self._to_dict = to_dict
        self._parts: list[bytes] = []
        self._index: dict[str, int] = {}
        self._changed: dict[str, T] = {}
        self._joined: bytes | None = None

    def mark(self, item: T) -> None:
        """``item`` was added or changed; it is encoded at the next read, once."""
        self._changed[self._key(item)] = item

    def remove(self, name: str) -> None:
        """``name`` is gone: its fragment leaves the list (rare: a cleanup, a reset)."""
        self._changed.pop(name, None)
        position = self._index.pop(name, None)
        if position is None:
            return
        del self._parts[position]
        self._index = {key: (i if i < position else i - 1) for key, i in self._index.items()}
        self._joined = None

    def one(self, item: T) -> bytes:
        return b"[" + _encoder.encode(self._to_dict(item)) + b"]"

    @property
    def stale(self) -> int:
        """Items changed since the last read, not encoded yet."""
        return len(self._changed)

    def refresh(self, limit: int | None = None) -> None:
        """Encode up to ``limit`` changed items (all by default)."""
        changed = self._changed
        count = len(changed) if limit is None else min(limit, len(changed))
        for _ in range(count):
            name, item = next(iter(changed.items()))
            del changed[name]
            fragment = _encoder.encode(self._to_dict(item))
            position = self._index.get(name)
            if position is None:
                self._index[name] = len(self._parts)
                self._parts.append(fragment)
            else:
                self._parts[position] = fragment
        if count:
            self._joined = None

    async def refresh_gradually(self) -> None:
        while self._changed:
            self.refresh(SLICE)
            await asyncio.sleep(0)

    def all(self) -> bytes:
        self.refresh()
        if self._joined is None:
            self._joined = b"[" + b",".join(self._parts) + b"]"
        return self._joined
