"""The one group-commit writer: many messages per transaction, acknowledged after the commit.

Producers never await a write. They append a row (or a keyed row that a later one may replace,
for state such as a bot's status) and optionally a callback; the writer task turns everything
queued into one transaction — one ``executemany`` per statement — commits, then runs the
callbacks with ``None`` or the error. A request carrying an ``id`` is answered from such a
callback, so an acknowledgement always means "committed".

The delay is bounded: the first item of a batch waits at most ``max_delay`` for company, and a
batch is cut at ``max_batch`` items. While a commit is running the next batch fills up by itself,
so under load batches grow without any extra waiting.

A commit is one hop to the writer's own thread, which owns the write connection: BEGIN, every
statement and COMMIT run there back to back. (With one await per statement, a loop busy with a
flood delayed each step and a commit took hundreds of milliseconds.) Keyed rows are read from
the live state on the loop, just before the hop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chatops.runtime.stats import COMMIT_SECONDS, Buckets
from chatops.runtime.tasks import create_task

log = logging.getLogger(__name__)

CommitCallback = Callable[[BaseException | None], None]
Params = Sequence[Any]
Job = Callable[[sqlite3.Connection], Any]
"""Runs in the writer's thread, inside the next transaction, on the write connection."""


class _Batch:
    __slots__ = ("batch_id", "callbacks", "jobs", "keyed", "rows", "size")

    def __init__(self, batch_id: int) -> None:
        self.batch_id = batch_id
        self.rows: dict[str, list[Params]] = {}
        self.keyed: dict[str, dict[Any, Callable[[], Params]]] = {}
        self.jobs: list[tuple[Job, asyncio.Future[Any]]] = []
        self.callbacks: list[CommitCallback] = []
        self.size = 0


class GroupCommitWriter:
    def __init__(
        self, conn: sqlite3.Connection, *, max_delay: float = 0.01, max_batch: int = 20000
    ) -> None:
        self._conn = conn
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chatops-writer")
        self._max_delay = max_delay
        self._max_batch = max_batch
        self._batch = _Batch(0)
        self._wakeup = asyncio.Event()
        self._full = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.batches_committed = 0
        self.commit_seconds = Buckets(COMMIT_SECONDS)
        """Each successful commit's duration, the thread hop included (``/metrics``)."""
        self.rows_committed = 0
        self.failing_since: float | None = None
        """Monotonic time of the first failed commit since the last good one; None when well."""
        self.last_error: str | None = None

    def start(self) -> None:
        self._task = create_task(self._run(), name="store-writer")

    @property
    def backlog(self) -> int:
        """Items queued and not yet handed to a commit."""
        return self._batch.size

    @property
    def batch_id(self) -> int:
        """Identifies the batch now filling; a callback registered while it is unchanged fires
        after the same commit, which lets a producer share one callback across many items."""
        return self._batch.batch_id

    # -- producers -------------------------------------------------------------------------------

    def add(self, statement: str, params: Params, on_commit: CommitCallback | None = None) -> None:
        batch = self._batch
        rows = batch.rows.get(statement)
        if rows is None:
            batch.rows[statement] = rows = []
        rows.append(params)
        if on_commit is not None:
            batch.callbacks.append(on_commit)
        self._grew(batch)

    def put(self, statement: str, key: Any, params: Callable[[], Params]) -> None:
        """Queue a row that replaces any row queued earlier under the same key (coalescing).

        ``params`` is called at commit time, so it reads the latest state once per batch."""
        batch = self._batch
        keyed = batch.keyed.get(statement)
        if keyed is None:
            batch.keyed[statement] = keyed = {}
        keyed[key] = params
        self._grew(batch)

    def hurry(self) -> None:
        """Commit what is queued without waiting ``max_delay`` for company (an alert's delivery
        outcome, which a crash must not undo)."""
        if self._batch.size:
            self._full.set()

    def after_commit(self, callback: CommitCallback) -> None:
        """Run ``callback`` once everything queued so far is committed."""
        self._batch.callbacks.append(callback)
        self._grew(self._batch)

    async def run(self, job: Job) -> Any:
        """Run ``job(conn)`` inside the next transaction and return its result after the
        commit. It runs in the writer's thread: it must not touch the loop's state."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._batch.jobs.append((job, future))
        self._grew(self._batch)
        return await future

    async def flush(self) -> None:
        """Wait until everything queued before this call is committed (or failed)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def _resolve(_: BaseException | None) -> None:
            if not done.done():
                done.set_result(None)

        self.after_commit(_resolve)
        await done

    async def close(self) -> None:
        """Commit what is queued, then stop."""
        if self._task is None:
            return
        await self.flush()
        self._closing = True
        self._wakeup.set()
        await self._task
        self._task = None
        await asyncio.get_running_loop().run_in_executor(self._thread, self._checkpoint_and_close)
        self._thread.shutdown(wait=True)

    def _checkpoint_and_close(self) -> None:
        """Fold the WAL into the database and truncate it before closing, so a clean shutdown
        leaves the database file alone (a copy of it is the whole database). A checkpoint that
        another process's reader holds up is no error: that reader's last close finishes it."""
        try:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.Error as exc:
            log.warning("WAL checkpoint at shutdown failed: %s", exc)
        finally:
            self._conn.close()

    # -- the writer task -------------------------------------------------------------------------

    def _grew(self, batch: _Batch) -> None:
        batch.size += 1
        self._idle.clear()
        if batch.size == 1:
            self._wakeup.set()
        if batch.size >= self._max_batch:
            self._full.set()

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            if self._closing and self._batch.size == 0:
                return
            if self._max_delay > 0 and self._batch.size < self._max_batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), self._max_delay)
            batch, self._batch = self._batch, _Batch(self._batch.batch_id + 1)
            self._wakeup.clear()
            self._full.clear()
            await self._commit(batch)
            if not self._batch.size:
                self._idle.set()
            if self._batch.size or self._closing:
                # A close that woke the loop while this batch was taken had its wake-up
                # cleared above: look again, or the close would wait forever.
                self._wakeup.set()

    async def _commit(self, batch: _Batch) -> None:
        keyed = {
            statement: [make() for make in rows.values()] for statement, rows in batch.keyed.items()
        }
        jobs = [job for job, _ in batch.jobs]
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        try:
            results = await loop.run_in_executor(
                self._thread, self._transaction, batch.rows, keyed, jobs
            )
        except Exception as exc:
            error: BaseException | None = exc
            results = [None] * len(jobs)
            if self.failing_since is None:
                self.failing_since = time.monotonic()
                log.exception("store commit of %d items failed; rolled back", batch.size)
            else:
                log.error("store commit of %d items failed again: %s", batch.size, exc)
            self.last_error = f"{type(exc).__name__}: {exc}"
        else:
            error = None
            self.commit_seconds.observe(time.perf_counter() - started)
            self.batches_committed += 1
            self.rows_committed += batch.size
            if self.failing_since is not None:
                log.warning("store commits succeed again")
                self.failing_since = None
                self.last_error = None
        for (_, future), result in zip(batch.jobs, results, strict=True):
            if future.done():
                continue
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)
        for callback in batch.callbacks:
            try:
                callback(error)
            except Exception:
                log.exception("commit callback failed")

    def _transaction(
        self,
        rows: dict[str, list[Params]],
        keyed: dict[str, list[Params]],
        jobs: list[Job],
    ) -> list[Any]:
        """One transaction, in the writer's thread; rolled back whole on any error."""
        conn = self._conn
        conn.execute("BEGIN")
        try:
            for statement, params in rows.items():
                conn.executemany(statement, params)
            for statement, params in keyed.items():
                conn.executemany(statement, params)
            results = [job(conn) for job in jobs]
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        return results
