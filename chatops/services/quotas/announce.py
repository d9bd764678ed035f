"""What budgets and reported pools share: turning a new % left into a crossing (or its end) on
the bus, and starting over at a reset or a rollover. The quota alerts make them ``quota``
incidents named after the budget or pool."""

from __future__ import annotations

from collections.abc import Callable

from chatops.runtime.bus import EventBus
from chatops.services.quotas.events import QuotaCleared, QuotaCrossed
from chatops.services.quotas.levels import LevelTracker
from chatops.services.quotas.runway import SAMPLE_EVERY, BurnSamples
from chatops.store import Store


class Announcer:
    def __init__(self, bus: EventBus, store: Store) -> None:
        self._bus = bus
        self._tables = store.quotas
        self._sampled: dict[str, float] = {}

    def check(
        self,
        name: str,
        levels: LevelTracker,
        burn: BurnSamples,
        pct_left: float,
        period_start: float,
        now: float,
        detail: Callable[[], str],
        *,
        episodic: bool = False,
    ) -> None:
        """Record ``pct_left`` and alert on a deeper crossing (once per period); back above
        every threshold resolves the incident (``episodic``: and may alert again, for what has
        no period, a rolling window)."""
        burn.add(now, pct_left)
        if now - self._sampled.get(name, float("-inf")) >= SAMPLE_EVERY:
            self._sampled[name] = now  # history: one sample a minute, whatever the traffic
            self._tables.add_sample(now, name, pct_left)
        before = levels.level
        announce = levels.observe(pct_left)
        if announce is not None:
            self._bus.publish(
                QuotaCrossed(now, name, levels.state(announce), levels.severity(announce), detail())
            )
        elif levels.level == 0 and before > 0:
            self._bus.publish(QuotaCleared(now, name, f"back to {pct_left:.0f}% left"))
            if episodic:
                levels.alerted.clear()
        if levels.level != before or announce is not None:
            self._tables.save_state(name, period_start, levels.level, levels.alerted)

    def renew(
        self,
        name: str,
        levels: LevelTracker,
        burn: BurnSamples,
        period_start: float,
        now: float,
        why: str,
    ) -> None:
        """A reset or a rollover: levels start over, and an open incident closes with ``why``."""
        burn.clear()
        if levels.new_period():
            self._bus.publish(QuotaCleared(now, name, why))
        self._tables.save_state(name, period_start, 0, set())
