"""What the CLI reads when no controller runs: the database file and the cache folder, read
directly with the same services, so a headless shell sees what the controller would say."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from chatops.config.cache import CacheConfig
from chatops.records.fleet import AgentState, BotState
from chatops.services.cache.manager import CacheManager
from chatops.store import Store, read_agents_offline, read_bots_offline

T = TypeVar("T")


def read_fleet(database: Path) -> list[BotState]:
    """The fleet as the database last knew it; :class:`~chatops.paths.NoDatabase` without a
    file. Read-only: it never creates or upgrades anything."""
    return read_bots_offline(database)


def read_agents(database: Path) -> list[AgentState]:
    """The agents as the database last knew them, coding-agent sessions with their facts (what
    ``chatops status`` shows of them is then the same with or without a controller)."""
    return read_agents_offline(database)


async def with_cache_manager(
    database: Path, config: CacheConfig, root: Path, work: Callable[[CacheManager], Awaitable[T]]
) -> T:
    """Run ``work`` on a cache manager over the database and the folder, then close."""
    store = await Store.open(database, max_delay=0)
    try:
        manager = CacheManager(store, config, root)
        await manager.start()
        return await work(manager)
    finally:
        await store.close()
