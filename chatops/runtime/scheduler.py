"""APScheduler jobs in the controller's loop; each job is one call to a service method."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from chatops.timeutil import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    func: Callable[[], Any]
    seconds: float
    first_run_after: float | None = None


JobErrors = dict[str, str]
"""Each job's last failure (``"<time>: <error>"``), cleared when it next succeeds: what the
diagnostics show of the scheduler."""


def _logged(name: str, job: Callable[[], Any], errors: JobErrors) -> Callable[[], Awaitable[None]]:
    """Wrap a job so a failure is logged with its name and the schedule carries on."""

    async def run() -> None:
        try:
            result = job()
            if isinstance(result, Awaitable):
                await result
            errors.pop(name, None)
        except Exception as exc:
            log.exception("scheduled job %s failed", name)
            errors[name] = f"{utcnow():%Y-%m-%d %H:%M:%S} UTC: {type(exc).__name__}: {exc}"[:300]

    run.__name__ = run.__qualname__ = name
    return run


def build_scheduler(jobs: Iterable[Job], errors: JobErrors | None = None) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    for job in jobs:
        extra: dict[str, Any] = {}
        if job.first_run_after is not None:
            extra["next_run_time"] = utcnow() + timedelta(seconds=job.first_run_after)
        scheduler.add_job(
            _logged(job.name, job.func, {} if errors is None else errors),
            "interval",
            seconds=job.seconds,
            id=job.name,
            name=job.name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=30,
            **extra,
        )
    return scheduler
