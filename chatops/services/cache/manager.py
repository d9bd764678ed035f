"""``CacheManager``: the task cache of a fleet, one folder per task's output, indexed, measured
and cleaned. Its operations keep the names existing agent code calls (``create_cache_entry``,
``delete_cache_entry``, ``clear_all_cache``, ``cleanup_old_entries``).

The index lives in the store and in memory (the total and the per-type sums are kept as entries
come and go, never by walking the tree at a check); the disk is the truth it is reconciled with
at start and at every check: orphan folders are adopted (or reported), entries whose folder
vanished are dropped, and a folder whose mtime changed is measured again.

Every clean is a :class:`~.plan.CleanPlan` first and executes exactly that plan. A delete is
crash-safe: the entries are marked ``deleting`` and that is committed, then each folder is
renamed into ``.trash`` and removed, then its row; a crash at any step is finished at the next
start (a marked entry is deleted, the trash emptied), so index and disk agree.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from chatops.config.cache import CacheConfig
from chatops.presentation.formatting import plural
from chatops.records.cache import (
    CacheEntry,
    CacheStats,
    CleanPlan,
    CleanResult,
    EntryPreview,
    PlanItem,
    PreviewFile,
)
from chatops.services.cache import files, plan, summary
from chatops.services.cache.errors import CacheError, NoSuchEntry
from chatops.services.cache.files import CachePathError, Measure
from chatops.services.cache.plan import MB
from chatops.store import Store
from chatops.timeutil import Clock, wall_clock

log = logging.getLogger(__name__)

IsOnline = Callable[[CacheEntry], bool]


@dataclass(frozen=True, slots=True)
class Reconciled:
    adopted: list[str]
    orphans: list[str]
    dropped: list[str]
    remeasured: int
    finished_deletes: int


class CacheManager:
    def __init__(
        self,
        store: Store,
        config: CacheConfig,
        root: Path,
        *,
        online: IsOnline = lambda entry: False,
        clock: Clock = wall_clock,
    ) -> None:
        self._store = store
        self._tables = store.cache
        self.on_index: list[Callable[[str, CacheEntry | None], None]] = []
        """Called with a task id and its entry as indexed now (None: gone from the index): an
        edge tells its hub."""
        self.config = config.model_copy()
        self.root = root
        self.online = online
        """Is an entry's agent still at work? (set by the socket door, which knows
        connections)"""
        self._clock = clock
        self.entries: dict[str, CacheEntry] = {}
        self.total = 0
        self._by_type: dict[str, list[int]] = {}
        self._lock = asyncio.Lock()
        self.last_clean_at: float | None = None
        """When a clean last removed something, since the start (``/metrics``)."""

    # -- start and reconciliation ----------------------------------------------------------------

    async def start(self) -> Reconciled:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        saved = await self._tables.state()
        if "auto_clean_enabled" in saved:
            self.config.auto_clean_enabled = saved["auto_clean_enabled"] == "true"
        for entry in await self._tables.entries():
            self._add(entry)
        return await self.reconcile()

    async def reconcile(self) -> Reconciled:
        """Bring the index in line with the disk (folder work off the event loop)."""
        async with self._lock:
            known = {
                task_id: (e.mtime_ns, e.inode, e.deleting) for task_id, e in self.entries.items()
            }
            found = await asyncio.to_thread(files.scan, self.root, known)
            now = self._clock()
            adopted, orphans, dropped = [], [], []
            for task_id in found.vanished:
                dropped.append(task_id)
                self._drop(task_id)
            for task_id in found.deleted:
                self._drop(task_id)
            for task_id, measured in found.measured.items():
                entry = self.entries.get(task_id)
                if entry is not None:
                    self._resize(entry, measured)
                elif self.config.orphans == "adopt":
                    adopted.append(task_id)
                    self._add(
                        files.new_entry(task_id, "unknown", None, measured, now, finished=True)
                    )
                    self._save(self.entries[task_id])
                else:
                    orphans.append(task_id)
            await self._store.flush()
        if adopted or orphans or dropped or found.deleted:
            log.info(
                "cache reconciled: %d adopted, %s left, %d vanished, %d re-measured, %s finished",
                len(adopted),
                plural(len(orphans), "orphan"),
                len(dropped),
                len(found.measured),
                plural(len(found.deleted), "interrupted delete"),
            )
        return Reconciled(adopted, orphans, dropped, len(found.measured), len(found.deleted))

    # -- the agent's calls -----------------------------------------------------------------------

    async def create_cache_entry(
        self,
        task_id: str,
        agent_type: str,
        content: Mapping[str, str | bytes],
        *,
        preview: str = "",
        agent: str | None = None,
    ) -> CacheEntry:
        """Write an entry's files, text (UTF-8) or bytes (the socket door holds uploads to
        ``max_upload_bytes``)."""
        encoded = {n: d.encode() if isinstance(d, str) else d for n, d in content.items()}
        async with self._lock:
            self._check_new(task_id)
            try:
                folder = await asyncio.to_thread(files.write_entry, self.root, task_id, encoded)
                measured = await asyncio.to_thread(files.measure, folder)
            except (CachePathError, FileExistsError) as exc:
                raise CacheError(str(exc)) from None
            return self._index(task_id, agent_type, agent, measured, preview)

    async def register_cache_entry(
        self, task_id: str, agent_type: str, *, preview: str = "", agent: str | None = None
    ) -> CacheEntry:
        """Index a folder the agent wrote itself at ``<root>/<task_id>`` (same host)."""
        async with self._lock:
            self._check_new(task_id)
            try:
                measured = await asyncio.to_thread(files.measure, self.root / task_id)
            except FileNotFoundError:
                raise CacheError(f"no folder {task_id} under the cache root") from None
            except CachePathError as exc:
                raise CacheError(str(exc)) from None
            return self._index(task_id, agent_type, agent, measured, preview)

    def finish_cache_entry(self, task_id: str) -> CacheEntry:
        entry = self._get(task_id)
        if entry.finished_at is None:
            entry.finished_at = self._clock()
            self._save(entry)
        return entry

    # -- reads -----------------------------------------------------------------------------------

    def running(self, entry: CacheEntry) -> bool:
        """Still being worked on: not finished, and its agent is online."""
        return entry.finished_at is None and self.online(entry)

    def get(self, task_id: str) -> CacheEntry | None:
        return self.entries.get(task_id)

    def statistics(self) -> CacheStats:
        """The cache at a glance (the socket answers it as
        :func:`~chatops.api.cache_views.stats_to_dict`)."""
        live = [e for e in self.entries.values() if not e.deleting]
        return summary.statistics(live, self.total, self._by_type, self.config, self.root)

    def get_cache_entries(self) -> list[CacheEntry]:
        """Newest first."""
        live = [e for e in self.entries.values() if not e.deleting]
        return sorted(live, key=lambda e: (e.created_at, e.task_id), reverse=True)

    async def preview_cache_entry(self, task_id: str, lines: int = 5) -> EntryPreview:
        """The entry, whether its task runs, and its files' first ``lines`` (``/cache
        preview``, the socket's ``cache_preview``)."""
        entry = self._get(task_id)
        listing = await asyncio.to_thread(files.read_preview, self.root / task_id, lines=lines)
        shown = tuple(
            PreviewFile(name, size, None if head is None else tuple(head))
            for name, size, head in listing
        )
        return EntryPreview(entry, self.running(entry), shown)

    # -- plans -----------------------------------------------------------------------------------

    def plan_auto_clean(self) -> CleanPlan:
        threshold = self.config.auto_clean_threshold_mb * MB
        keep = self.config.auto_clean_keep_count
        return plan.by_size(self.entries.values(), self.total, threshold, keep, self.running)

    def plan_old_entries(self, max_age_days: float | None = None) -> CleanPlan:
        days = self.config.max_age_days if max_age_days is None else max_age_days
        cutoff = self._clock() - days * 86400
        return plan.by_age(self.entries.values(), self.total, cutoff, self.running)

    def plan_clean(self) -> CleanPlan:
        """By age (``max_age_days``), then by size: what ``/cache clean`` and the scheduled
        auto-clean remove."""
        cutoff = self._clock() - self.config.max_age_days * 86400
        threshold = self.config.auto_clean_threshold_mb * MB
        return plan.by_age_then_size(
            self.entries.values(),
            self.total,
            cutoff,
            threshold,
            self.config.auto_clean_keep_count,
            self.running,
        )

    def plan_clear(self, *, force: bool = False) -> CleanPlan:
        return plan.everything(self.entries.values(), self.total, self.running, force=force)

    def plan_delete(self, task_id: str, *, force: bool = False) -> CleanPlan:
        entry = self._get(task_id)
        if self.running(entry) and not force:
            raise CacheError(
                f"{task_id} is still running (its agent is online): only a forced delete removes it"
            )
        return CleanPlan("delete_cache_entry", (plan.item(entry, "delete"),), self.total)

    def plan_shown(self, kind: str, planned: Sequence[tuple[str, int]]) -> CleanPlan:
        """The plan a door showed and the operator confirmed, back from its ``(task id,
        inode)`` pairs (a form, a socket request), for :meth:`execute`."""
        return plan.shown(kind, planned, self.entries, self.total)

    # -- operations under the names agent code calls ---------------------------------------------

    async def delete_cache_entry(self, task_id: str, *, force: bool = False) -> CleanResult:
        return await self.execute(self.plan_delete(task_id, force=force), force=force)

    async def clear_all_cache(self, *, force: bool = False) -> CleanResult:
        return await self.execute(self.plan_clear(force=force), force=force)

    async def auto_clean(self) -> CleanResult:
        return await self.execute(self.plan_auto_clean())

    async def cleanup_old_entries(self, max_age_days: float | None = None) -> CleanResult:
        return await self.execute(self.plan_old_entries(max_age_days))

    async def flush(self) -> None:
        await self._store.flush()

    def set_auto_clean(self, enabled: bool) -> None:
        self.config.auto_clean_enabled = enabled
        self._tables.save_state("auto_clean_enabled", "true" if enabled else "false")

    async def execute(self, clean: CleanPlan, *, force: bool = False) -> CleanResult:
        """Remove exactly the plan's entries. One that changed since (gone, replaced by another
        folder or a link, started running again without ``force``) is skipped, with why."""
        result = CleanResult(clean)
        async with self._lock:
            chosen: list[tuple[PlanItem, CacheEntry]] = []
            for planned in clean.items:
                entry = self.entries.get(planned.task_id)
                why = self._still_planned(planned, entry, force)
                if why is not None or entry is None:
                    result.skipped.append((planned.task_id, why or "gone"))
                    continue
                entry.deleting = True
                self._save(entry)
                chosen.append((planned, entry))
            if not chosen:
                return result
            await self._store.flush()  # the marks are on disk before any folder moves
            failed = await asyncio.to_thread(
                files.delete_folders, self.root, [p.task_id for p, _ in chosen]
            )
            for planned, entry in chosen:
                if planned.task_id in failed:
                    entry.deleting = False
                    self._save(entry)
                    result.skipped.append((planned.task_id, failed[planned.task_id]))
                    continue
                self._drop(planned.task_id)
                result.removed.append(planned)
            await self._store.flush()
        if result.removed:
            self.last_clean_at = self._clock()
            log.info(
                "cache: %s removed %s, %.1f MB",
                clean.kind,
                plural(len(result.removed), "entry"),
                result.freed / MB,
            )
        return result

    # -- internals -------------------------------------------------------------------------------

    def _still_planned(
        self, planned: PlanItem, entry: CacheEntry | None, force: bool
    ) -> str | None:
        if entry is None:
            return "no longer in the cache"
        if entry.deleting:
            return "already being deleted"
        state = files.folder_state(self.root / planned.task_id)
        if state is None or state[1] != planned.inode:
            return "no longer the folder that was planned"
        if self.running(entry) and not force:
            return "its task is running again"
        return None

    def _check_new(self, task_id: str) -> None:
        try:
            files.check_task_id(task_id)
        except CachePathError as exc:
            raise CacheError(str(exc)) from None
        if task_id in self.entries:
            raise CacheError(f"cache entry {task_id} already exists")

    def _index(
        self, task_id: str, agent_type: str, agent: str | None, measured: Measure, preview: str
    ) -> CacheEntry:
        entry = files.new_entry(
            task_id, agent_type, agent, measured, self._clock(), preview=preview
        )
        self._add(entry)
        self._save(entry)
        return entry

    def _save(self, entry: CacheEntry) -> None:
        self._tables.save(entry)
        for listener in self.on_index:
            listener(entry.task_id, entry)

    def _delete(self, task_id: str) -> None:
        self._tables.delete(task_id)
        for listener in self.on_index:
            listener(task_id, None)

    def _get(self, task_id: str) -> CacheEntry:
        entry = self.entries.get(task_id)
        if entry is None or entry.deleting:
            raise NoSuchEntry(f"no cache entry {task_id!r}")
        return entry

    def _add(self, entry: CacheEntry) -> None:
        self.entries[entry.task_id] = entry
        self.total += entry.size
        sums = self._by_type.setdefault(entry.agent_type, [0, 0])
        sums[0] += 1
        sums[1] += entry.size

    def _drop(self, task_id: str) -> None:
        entry = self.entries.pop(task_id, None)
        if entry is None:
            return
        self.total -= entry.size
        sums = self._by_type[entry.agent_type]
        sums[0] -= 1
        sums[1] -= entry.size
        self._delete(task_id)

    def _resize(self, entry: CacheEntry, measured: Measure) -> None:
        delta = measured.size - entry.size
        self.total += delta
        self._by_type[entry.agent_type][1] += delta
        entry.size, entry.files = measured.size, measured.files
        entry.mtime_ns, entry.inode = measured.mtime_ns, measured.inode
        self._save(entry)
