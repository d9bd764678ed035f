"""Time in one place: aware UTC datetimes in Python, ``YYYY-MM-DD HH:MM:SS`` in SQLite."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache

SQLITE_FORMAT = "%Y-%m-%d %H:%M:%S"

Clock = Callable[[], float]
"""Seconds since the epoch; injected so time-dependent logic can be tested without sleeping."""

wall_clock: Clock = time.time


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_sqlite(epoch: float) -> str:
    """Format epoch seconds as SQLite's own timestamp text so its date functions work on it."""
    return _format_second(math.floor(epoch))


@lru_cache(maxsize=1024)
def _format_second(second: int) -> str:
    # Every heartbeat is stamped; nearly all fall in the same few seconds, so this is a hot cache.
    return datetime.fromtimestamp(second, UTC).strftime(SQLITE_FORMAT)


def from_sqlite(text: str) -> float:
    return datetime.strptime(text, SQLITE_FORMAT).replace(tzinfo=UTC).timestamp()
