"""The cache's scheduled check (every ``check_interval_seconds``): reconcile with the disk,
auto-clean when enabled (entries past ``max_age_days``, then the oldest while over the
threshold; announcing what went), then warn when the
total is over ``warning_threshold_mb``: one ``cache`` incident per crossing, repeated every
``warning_repeat`` while it lasts, and a resolved alert once back under."""

from __future__ import annotations

from chatops.alerts.router import AlertRouter
from chatops.presentation.formatting import describe_duration, plural
from chatops.records.alerts import Alert, Severity
from chatops.services.cache.manager import CacheManager
from chatops.services.cache.plan import MB, CleanResult
from chatops.timeutil import Clock, wall_clock

SUBJECT = "cache"
KIND = "cache"


class CacheChecks:
    def __init__(
        self, manager: CacheManager, router: AlertRouter, *, clock: Clock = wall_clock
    ) -> None:
        self._manager = manager
        self._router = router
        self._clock = clock
        router.set_repeat(KIND, manager.config.warning_repeat)

    async def check(self) -> CleanResult | None:
        manager = self._manager
        await manager.reconcile()
        cleaned = None
        if manager.config.auto_clean_enabled:
            clean = manager.plan_clean()
            if clean.items:
                cleaned = await manager.execute(clean)
                if cleaned.removed:
                    self._announce(cleaned)
        self.warn()
        return cleaned

    def warn(self) -> None:
        manager, now = self._manager, self._clock()
        limit = manager.config.warning_threshold_mb
        size_mb = manager.total / MB
        if size_mb > limit:
            self._router.problem(
                SUBJECT,
                KIND,
                state="over",
                severity=Severity.WARNING,
                detail=f"the cache holds {size_mb:,.0f} MB, over its {limit:g} MB warning "
                f"({plural(len(manager.entries), 'entry')}; /cache clean shows what would go)",
                ts=now,
            )
        else:
            self._router.resolve(SUBJECT, KIND, state=f"back under {limit:g} MB", ts=now)

    def _announce(self, result: CleanResult) -> None:
        removed = result.removed
        names = ", ".join(item.task_id for item in removed[:10])
        more = f" and {len(removed) - 10} more" if len(removed) > 10 else ""
        oldest = min(item.created_at for item in removed)
        self._router.notify(
            Alert(
                kind="cache_cleaned",
                subject=SUBJECT,
                severity=Severity.INFO,
                title=f"🧹 Auto-clean removed {plural(len(removed), 'cache entry')} "
                f"({result.freed / MB:,.1f} MB)",
                body=f"{names}{more}\noldest was {describe_duration(self._clock() - oldest)} old"
                f"; {self._manager.total / MB:,.1f} MB left",
                ts=self._clock(),
                data={"removed": [item.task_id for item in removed], "freed_bytes": result.freed},
            )
        )
