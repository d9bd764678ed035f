"""The cache's scheduled check (every ``check_interval_seconds``): reconcile with the disk,
auto-clean when enabled (entries past ``max_age_days``, then the oldest while over the
threshold; announcing what went), then say on the bus where the total stands against
``warning_threshold_mb``. The cache alerts make it one ``cache`` incident per crossing, repeated
every ``warning_repeat`` while it lasts, and a resolved alert once back under."""

from __future__ import annotations

from chatops.records.cache import CleanResult
from chatops.runtime.bus import EventBus
from chatops.services.cache.events import CacheCleaned, CacheOverWarning, CacheUnderWarning
from chatops.services.cache.manager import CacheManager
from chatops.services.cache.plan import MB
from chatops.timeutil import Clock, wall_clock


class CacheChecks:
    def __init__(self, manager: CacheManager, bus: EventBus, *, clock: Clock = wall_clock) -> None:
        self._manager = manager
        self._bus = bus
        self._clock = clock

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
        if manager.total / MB > limit:
            self._bus.publish(CacheOverWarning(now, manager.total, limit, len(manager.entries)))
        else:
            self._bus.publish(CacheUnderWarning(now, limit))

    def _announce(self, result: CleanResult) -> None:
        self._bus.publish(
            CacheCleaned(self._clock(), tuple(result.removed), result.freed, self._manager.total)
        )
