"""The cache's socket door: who may write, finish and clean entries, and how the answers are
shaped. A registered bot's name is its owner's (nobody writes or finishes in its name); an
entry stays *running* while the connection that wrote it is open or its agent's bot is alive;
cleaning over the socket goes through the operator's narrow door, as approvals do."""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any

from chatops.presentation.formatting import plural
from chatops.records.cache import CacheEntry
from chatops.records.fleet import ALIVE_STATUSES
from chatops.services.cache.manager import CacheError, CacheManager
from chatops.services.cache.plan import MB, CleanPlan, PlanItem
from chatops.services.cache.views import entry_to_dict, plan_to_dict, result_to_dict
from chatops.services.fleet import FleetService
from chatops.services.operators import OperatorGate
from chatops.wire.outcomes import Committed, Immediate, Later, Outcome
from chatops.wire.peer import Peer
from chatops.wire.protocol import (
    CacheCreate,
    CacheExecute,
    CacheFinish,
    CachePlan,
    CacheRegister,
    ErrorCode,
    ProtocolError,
    RequestId,
)

QUERY_TIMEOUT = 60.0


class CacheRequests:
    def __init__(self, manager: CacheManager, fleet: FleetService, gate: OperatorGate) -> None:
        self.manager = manager
        self._fleet = fleet
        self._gate = gate
        self._writers: dict[str, Peer] = {}
        manager.online = self.online

    def online(self, entry: CacheEntry) -> bool:
        """The manager's test of a running task: its writer's connection is open, or its
        agent is a bot that is alive."""
        if self._live_writer(entry.task_id) is not None:
            return True
        bot = self._fleet.bots.get(entry.agent or "")
        return bot is not None and bot.status in ALIVE_STATUSES

    def _live_writer(self, task_id: str) -> Peer | None:
        """The connection that wrote the entry, while it is open."""
        writer = self._writers.get(task_id)
        if writer is None or writer.link is None or writer.link.closed:
            return None
        return writer

    def connection_lost(self, peer: Peer) -> None:
        for task_id in [t for t, writer in self._writers.items() if writer is peer]:
            del self._writers[task_id]

    # -- agents ----------------------------------------------------------------------------------

    def create(self, peer: Peer, msg: CacheCreate) -> Outcome:
        self._as_agent(peer, msg.agent, msg.id)
        self._room(msg.id)
        try:
            content = {name: text.encode() for name, text in msg.files.items()}
            for name, encoded in msg.files_b64.items():
                content[name] = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise _invalid("files_b64 holds something that is not base64", msg.id) from None
        limits = self.manager.config
        size = sum(len(data) for data in content.values())
        if len(content) > limits.max_upload_files or size > limits.max_upload_bytes:
            raise _invalid(
                f"{plural(len(content), 'file')}, {size} bytes: over the upload cap "
                f"({limits.max_upload_files} files, {limits.max_upload_bytes} bytes); write "
                "the folder in place and register it",
                msg.id,
            )

        async def write() -> dict[str, Any]:
            entry = await self._call(
                self.manager.create_cache_entry(
                    msg.task_id, msg.agent_type, content, preview=msg.preview or "", agent=msg.agent
                ),
                msg.id,
            )
            self._writers[entry.task_id] = peer
            await self._committed()
            return entry_to_dict(entry, running=True)

        return Later(write(), QUERY_TIMEOUT)

    def register(self, peer: Peer, msg: CacheRegister) -> Outcome:
        self._as_agent(peer, msg.agent, msg.id)
        self._room(msg.id)
        expected = os.path.realpath(self.manager.root / msg.task_id)
        if msg.path is not None and os.path.realpath(msg.path) != expected:
            raise _invalid(f"the folder must be {expected} (the cache root's task folder)", msg.id)

        async def index() -> dict[str, Any]:
            entry = await self._call(
                self.manager.register_cache_entry(
                    msg.task_id, msg.agent_type, preview=msg.preview or "", agent=msg.agent
                ),
                msg.id,
            )
            self._writers[entry.task_id] = peer
            await self._committed()
            return entry_to_dict(entry, running=True)

        return Later(index(), QUERY_TIMEOUT)

    def finish(self, peer: Peer, msg: CacheFinish) -> Outcome:
        self._as_agent(peer, msg.agent, msg.id)
        entry = self.manager.get(msg.task_id)
        if entry is None:
            raise ProtocolError(ErrorCode.NOT_FOUND, f"no cache entry {msg.task_id!r}", msg.id)
        writer = self._live_writer(msg.task_id)
        if entry.agent != msg.agent or (writer is not None and writer is not peer):
            raise ProtocolError(
                ErrorCode.PERMISSION_DENIED,
                f"cache entry {msg.task_id!r} belongs to another agent",
                msg.id,
            )
        entry = self.manager.finish_cache_entry(msg.task_id)
        self._writers.pop(msg.task_id, None)
        return Committed(entry_to_dict(entry, running=False))

    # -- operators -------------------------------------------------------------------------------

    def plan(self, peer: Peer, msg: CachePlan) -> Outcome:
        try:
            plan = self._plan(msg.kind, msg.task_id, msg.max_age_days, msg.force)
        except CacheError as exc:
            raise _invalid(str(exc), msg.id) from None
        return Immediate(plan_to_dict(plan))

    def execute(self, peer: Peer, msg: CacheExecute) -> Outcome:
        self._gate.require(peer, msg.id)
        items = []
        for planned in msg.items:
            entry = self.manager.get(planned.task_id)
            size, created, kind = (
                (entry.size, entry.created_at, entry.agent_type) if entry else (0, 0.0, "?")
            )
            items.append(PlanItem(planned.task_id, kind, size, created, planned.inode, "planned"))
        clean = CleanPlan(msg.kind, tuple(items), self.manager.total)

        async def run() -> dict[str, Any]:
            result = await self.manager.execute(clean, force=msg.force)
            return result_to_dict(result, self.manager.total)

        return Later(run(), QUERY_TIMEOUT)

    def _plan(
        self, kind: str, task_id: str | None, max_age_days: float | None, force: bool
    ) -> CleanPlan:
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

    # -- internals -------------------------------------------------------------------------------

    def _room(self, request_id: RequestId) -> None:
        ceiling = self.manager.config.max_total_mb
        if self.manager.total > ceiling * MB:
            raise _invalid(
                f"the cache is over cache.max_total_mb ({ceiling:g} MB): no new entries until "
                "it is cleaned",
                request_id,
            )

    def _as_agent(self, peer: Peer, agent: str | None, request_id: RequestId) -> None:
        if agent is not None:
            self._fleet.authorize(peer, agent, request_id)
        self._gate.spoke_as_agent(peer)

    async def _call(self, operation: Any, request_id: RequestId) -> CacheEntry:
        try:
            entry: CacheEntry = await operation
        except CacheError as exc:
            raise _invalid(str(exc), request_id) from None
        return entry

    async def _committed(self) -> None:
        """Answered once the index row is on disk, like every write."""
        await self.manager.flush()


def _invalid(message: str, request_id: RequestId) -> ProtocolError:
    return ProtocolError(ErrorCode.INVALID_MESSAGE, message, request_id)
