"""Owned background tasks: every task has a reference until it ends and its failure is logged.

asyncio keeps only a weak reference to a task, so a task nobody holds can be collected mid-run,
and an exception in a task nobody awaits is reported late or never. :func:`create_task` holds
the reference and logs the exception when the task ends (python-discord's bot-core helper is the
model); :class:`TaskSet` does the same for a component that must also cancel its tasks when it
stops (the server's per-request tasks, the alert workers).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

_background: set[asyncio.Task[Any]] = set()


def create_task(coro: Coroutine[Any, Any, T], *, name: str) -> asyncio.Task[T]:
    """Start ``coro`` as a task that is referenced until done and whose exception is logged."""
    task = asyncio.get_running_loop().create_task(coro, name=name)
    _background.add(task)
    task.add_done_callback(_finished)
    return task


def _finished(task: asyncio.Task[Any]) -> None:
    _background.discard(task)
    log_failure(task)


def log_failure(task: asyncio.Task[Any]) -> None:
    """Log the exception a finished task raised (cancellation is not a failure)."""
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.error("task %s failed", task.get_name(), exc_info=error)


class TaskSet:
    """The tasks one component owns: referenced while they run, failures logged, and stopped
    together when the component stops."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str) -> asyncio.Task[T]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        log_failure(task)

    def __len__(self) -> int:
        return len(self._tasks)

    async def wait(self, timeout: float) -> None:
        """Let the running tasks finish, for at most ``timeout`` seconds."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    async def cancel(self) -> None:
        """Cancel every task and wait until each has ended."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
