"""Many hosts, one fleet: what an edge tells its hub about a bot, and how the hub names it.

On a hub, a bot that an edge supervises is known as ``host/name`` (the edge's name, then the
bot's own): two hosts may each run a bot called ``worker`` and both are in the fleet. A bot of
the hub's own host keeps its bare name, and a hub refuses local names with a ``/`` so that no
local process can pass for another host's bot. Front ends show ``host/name`` only where the bare
name is not unique.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

HOST_SEPARATOR = "/"


def qualified(host: str, name: str) -> str:
    """The hub's name for ``name`` on the edge ``host``."""
    return f"{host}{HOST_SEPARATOR}{name}"


def split_qualified(channel: str) -> tuple[str | None, str]:
    """``("edge-a", "worker")`` for ``edge-a/worker``; ``(None, name)`` for a local bot."""
    host, sep, name = channel.partition(HOST_SEPARATOR)
    return (host, name) if sep and host and name else (None, channel)


def is_remote(channel: str) -> bool:
    return split_qualified(channel)[0] is not None


def short_names(channels: Iterable[str]) -> dict[str, str]:
    """Each channel's name as front ends show it: the bare name where it is unique in the
    fleet, ``host/name`` where two hosts have a bot of that name."""
    channels = list(channels)
    counts = Counter(split_qualified(channel)[1] for channel in channels)
    return {
        channel: channel if counts[split_qualified(channel)[1]] > 1 else split_qualified(channel)[1]
        for channel in channels
    }


@dataclass(frozen=True, slots=True)
class BotReport:
    """One bot as its edge sees it, in the edge's own time: what the hub mirrors."""

    name: str
    pid: int
    status: str
    changed_at: float
    """When the edge saw its status change: the hub never lets an older report win."""
    last_heartbeat: float
    registered_at: float
    rss_mb: float | None = None
    cpu_pct: float | None = None
    uid: int | None = None
    features: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    """Why its status changed, as the edge logged it (``pid 123 exited``)."""


@dataclass(frozen=True, slots=True)
class RemoteCacheEntry:
    """One entry of an edge's task cache, as the hub knows it: the folder stays on that host."""

    task_id: str
    agent_type: str
    size: int
    files: int
    created_at: float
    agent: str | None = None
    finished_at: float | None = None
