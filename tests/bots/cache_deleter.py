"""For the crash test: deletes one cache entry and stops dead half-way (after the entry was
marked and its folder moved into the trash, before it is removed), waiting to be SIGKILLed."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from chatops.config.cache import CacheConfig
from chatops.services.cache import files
from chatops.services.cache.manager import CacheManager
from chatops.store import Store


def stuck(path: Path) -> None:
    print(f"MOVED {path}", flush=True)
    time.sleep(600)


async def main(db: str, root: str, task_id: str) -> None:
    store = await Store.open(Path(db), max_delay=0)
    manager = CacheManager(store, CacheConfig(), Path(root))
    await manager.start()
    files.remove = stuck  # type: ignore[assignment]
    await manager.delete_cache_entry(task_id)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
