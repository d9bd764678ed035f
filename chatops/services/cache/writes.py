"""Who may write, finish and clean cache entries, whatever door asks.

A registered bot's name is its owner's (nobody writes or finishes in its name); an entry stays
*running* while the caller that wrote it is connected or its agent's bot is alive; cleaning on
behalf of a caller goes through the operator's narrow door, as approvals do.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Sequence

from chatops.presentation.formatting import plural
from chatops.records.cache import CacheEntry, CleanPlan, CleanResult
from chatops.records.fleet import ALIVE_STATUSES
from chatops.services.cache.errors import CacheError
from chatops.services.cache.manager import CacheManager
from chatops.services.cache.plan import MB
from chatops.services.callers import Caller
from chatops.services.errors import Invalid, NotFound, Refused
from chatops.services.fleet import FleetService
from chatops.services.operators import OperatorGate


class CacheWrites:
    def __init__(self, manager: CacheManager, fleet: FleetService, gate: OperatorGate) -> None:
        self.manager = manager
        self._fleet = fleet
        self._gate = gate
        self._writers: dict[str, Caller] = {}
        manager.online = self.online

    def online(self, entry: CacheEntry) -> bool:
        """The manager's test of a running task: its writer is connected, or its agent is a bot
        that is alive."""
        if self._live_writer(entry.task_id) is not None:
            return True
        bot = self._fleet.bots.get(entry.agent or "")
        return bot is not None and bot.status in ALIVE_STATUSES

    def _live_writer(self, task_id: str) -> Caller | None:
        writer = self._writers.get(task_id)
        if writer is None or writer.link is None or writer.link.closed:
            return None
        return writer

    def connection_lost(self, caller: Caller) -> None:
        for task_id in [t for t, writer in self._writers.items() if writer is caller]:
            del self._writers[task_id]

    # -- agents ----------------------------------------------------------------------------------

    async def create(
        self,
        caller: Caller,
        task_id: str,
        agent_type: str,
        content: dict[str, bytes],
        *,
        preview: str = "",
        agent: str | None = None,
    ) -> CacheEntry:
        """A new entry written from ``content`` (small outputs sent whole)."""
        self._as_agent(caller, agent)
        self._room()
        limits = self.manager.config
        size = sum(len(data) for data in content.values())
        if len(content) > limits.max_upload_files or size > limits.max_upload_bytes:
            raise Invalid(
                f"{plural(len(content), 'file')}, {size} bytes: over the upload cap "
                f"({limits.max_upload_files} files, {limits.max_upload_bytes} bytes); write "
                "the folder in place and register it"
            )
        write = self.manager.create_cache_entry(
            task_id, agent_type, content, preview=preview, agent=agent
        )
        return await self._written(caller, write)

    def check_register(
        self, caller: Caller, task_id: str, path: str | None, agent: str | None
    ) -> None:
        """Refuse a registration before any work: the caller, the room, the folder."""
        self._as_agent(caller, agent)
        self._room()
        expected = os.path.realpath(self.manager.root / task_id)
        if path is not None and os.path.realpath(path) != expected:
            raise Invalid(f"the folder must be {expected} (the cache root's task folder)")

    async def register(
        self,
        caller: Caller,
        task_id: str,
        agent_type: str,
        *,
        path: str | None = None,
        preview: str = "",
        agent: str | None = None,
    ) -> CacheEntry:
        """Index a folder the agent wrote in place under the cache root."""
        self.check_register(caller, task_id, path, agent)
        index = self.manager.register_cache_entry(task_id, agent_type, preview=preview, agent=agent)
        return await self._written(caller, index)

    def finish(self, caller: Caller, task_id: str, agent: str | None) -> CacheEntry:
        self._as_agent(caller, agent)
        entry = self.manager.get(task_id)
        if entry is None:
            raise NotFound(f"no cache entry {task_id!r}")
        writer = self._live_writer(task_id)
        if entry.agent != agent or (writer is not None and writer is not caller):
            raise Refused(f"cache entry {task_id!r} belongs to another agent")
        entry = self.manager.finish_cache_entry(task_id)
        self._writers.pop(task_id, None)
        return entry

    # -- operators -------------------------------------------------------------------------------

    def plan(
        self, kind: str, task_id: str | None, max_age_days: float | None, force: bool
    ) -> CleanPlan:
        """What a clean of ``kind`` would delete now, to show before it is executed."""
        if kind == "delete_cache_entry":
            if task_id is None:
                raise CacheError("delete_cache_entry needs a task_id")
            return self.manager.plan_delete(task_id, force=force)
        if kind == "cleanup_old_entries":
            return self.manager.plan_old_entries(max_age_days)
        if kind == "clear_all_cache":
            return self.manager.plan_clear(force=force)
        if kind == "clean":
            return self.manager.plan_clean()
        return self.manager.plan_auto_clean()

    async def execute(
        self, caller: Caller, kind: str, planned: Sequence[tuple[str, int]], force: bool
    ) -> CleanResult:
        """Delete exactly the planned entries (``(task_id, inode)``) that are unchanged."""
        self._gate.require(caller)
        return await self.manager.execute(self.manager.plan_shown(kind, planned), force=force)

    # -- internals -------------------------------------------------------------------------------

    def _room(self) -> None:
        ceiling = self.manager.config.max_total_mb
        if self.manager.total > ceiling * MB:
            raise Invalid(
                f"the cache is over cache.max_total_mb ({ceiling:g} MB): no new entries until "
                "it is cleaned"
            )

    def _as_agent(self, caller: Caller, agent: str | None) -> None:
        if agent is not None:
            self._fleet.ownership.authorize(caller, agent)
        self._gate.spoke_as_agent(caller)

    async def _written(self, caller: Caller, operation: Awaitable[CacheEntry]) -> CacheEntry:
        """Answered once the index row is on disk, like every write."""
        entry = await operation
        self._writers[entry.task_id] = caller
        await self.manager.flush()
        return entry
