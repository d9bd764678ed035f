"""APScheduler jobs in the controller's loop; each job is one call to a service method."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from chatops.config import MonitoringConfig
from chatops.timeutil import utcnow

log = logging.getLogger(__name__)


def _logged(name: str, job: Callable[[], Any]) -> Callable[[], Awaitable[None]]:
    """Wrap a job so a failure is logged with its name and the schedule carries on."""

    async def run() -> None:
        try:
            result = job()
            if isinstance(result, Awaitable):
                await result
        except Exception:
            log.exception("scheduled job %s failed", name)

    return run


def build_scheduler(
    config: MonitoringConfig,
    *,
    reap: Callable[[], Any],
    retention: Callable[[], Awaitable[Any]],
    sample_self: Callable[[], Any],
) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    defaults = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}
    scheduler.add_job(
        _logged("reap", reap), "interval", seconds=config.reap_interval, id="reap", **defaults
    )
    scheduler.add_job(
        _logged("retention", retention),
        "interval",
        seconds=config.retention_interval,
        id="retention",
        next_run_time=utcnow() + timedelta(seconds=5),
        **defaults,
    )
    scheduler.add_job(
        _logged("sample_self", sample_self),
        "interval",
        seconds=config.metrics_interval,
        id="sample_self",
        **defaults,
    )
    return scheduler
