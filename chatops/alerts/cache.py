"""Cache alerts: the scheduled check's findings become the ``cache`` incident.

Over ``warning_threshold_mb`` opens it (once per crossing: later checks only update it), it is
repeated every ``warning_repeat`` while it lasts, and back under resolves it. What an auto-clean
removed is one ``cache_cleaned`` notice.
"""

from __future__ import annotations

from collections.abc import Callable

from chatops.alerts.router import AlertRouter
from chatops.presentation.formatting import describe_duration, plural
from chatops.records.alerts import Alert, Severity
from chatops.runtime.bus import EventBus
from chatops.services.cache.events import CacheCleaned, CacheOverWarning, CacheUnderWarning
from chatops.services.cache.plan import MB

SUBJECT = "cache"
KIND = "cache"


class CacheAlerts:
    def __init__(self, router: AlertRouter, bus: EventBus, *, repeat: float) -> None:
        """``repeat``: ``cache.warning_repeat``, the reminder interval of the open incident."""
        self._router = router
        router.set_repeat(KIND, repeat)
        self._unsubscribe: list[Callable[[], None]] = [
            bus.subscribe(CacheOverWarning, self.on_over),
            bus.subscribe(CacheUnderWarning, self.on_under),
            bus.subscribe(CacheCleaned, self.on_cleaned),
        ]

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()

    def on_over(self, event: CacheOverWarning) -> None:
        self._router.problem(
            SUBJECT,
            KIND,
            state="over",
            severity=Severity.WARNING,
            detail=f"the cache holds {event.total / MB:,.0f} MB, over its {event.warning_mb:g} MB "
            f"warning ({plural(event.entries, 'entry')}; /cache clean shows what would go)",
            ts=event.ts,
        )

    def on_under(self, event: CacheUnderWarning) -> None:
        self._router.resolve(
            SUBJECT, KIND, state=f"back under {event.warning_mb:g} MB", ts=event.ts
        )

    def on_cleaned(self, event: CacheCleaned) -> None:
        removed = event.removed
        names = ", ".join(item.task_id for item in removed[:10])
        more = f" and {len(removed) - 10} more" if len(removed) > 10 else ""
        oldest = min(item.created_at for item in removed)
        self._router.notify(
            Alert(
                kind="cache_cleaned",
                subject=SUBJECT,
                severity=Severity.INFO,
                title=f"🧹 Auto-clean removed {plural(len(removed), 'cache entry')} "
                f"({event.freed / MB:,.1f} MB)",
                body=f"{names}{more}\noldest was {describe_duration(event.ts - oldest)} old"
                f"; {event.total_after / MB:,.1f} MB left",
                ts=event.ts,
                data={"removed": [item.task_id for item in removed], "freed_bytes": event.freed},
            )
        )
