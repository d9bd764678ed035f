"""How many history rows (``events``) one bot may add: a token bucket per bot.

Transitions beyond it still change the bot's status and reach the bus (alerts see every one);
only their history rows are summarised as one "suppressed" row, so a flapping bot cannot grow
the database without bound.
"""

from __future__ import annotations

from chatops.presentation.formatting import plural
from chatops.records.fleet import FleetEvent
from chatops.runtime.bus import EventBus
from chatops.store.fleet import FleetTables

# A burst of EVENT_BURST rows, then one per EVENT_REFILL seconds.
EVENT_BURST = 30
EVENT_REFILL = 2.0


class EventBudget:
    """A token bucket per bot for history rows."""

    __slots__ = ("_at", "_tokens", "suppressed")

    def __init__(self, now: float) -> None:
        self._tokens = float(EVENT_BURST)
        self._at = now
        self.suppressed = 0

    def take(self, now: float) -> bool:
        self._tokens = min(EVENT_BURST, self._tokens + max(0.0, now - self._at) / EVENT_REFILL)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        self.suppressed += 1
        return False


class FleetHistory:
    """Where the fleet's events go: every one on the bus, and its history row stored within
    its bot's :class:`EventBudget` (the rows beyond it summed up as one "suppressed" row)."""

    def __init__(self, rows: FleetTables, bus: EventBus) -> None:
        self._rows = rows
        self._bus = bus
        self._budgets: dict[str, EventBudget] = {}

    def add(self, event: FleetEvent) -> None:
        """A transition or a registration: published, stored while the bot's budget lasts."""
        now = event.ts
        budget = self._budgets.get(event.channel)
        if budget is None:
            budget = self._budgets[event.channel] = EventBudget(now)
        suppressed = budget.suppressed
        if budget.take(now):
            if suppressed:
                budget.suppressed = 0
                self._rows.add_event(
                    FleetEvent(
                        ts=now,
                        channel=event.channel,
                        kind="suppressed",
                        detail=f"{plural(suppressed, 'history row')} not stored (rate limit)",
                    )
                )
            self._rows.add_event(event)
        self._bus.publish(event)

    def note(self, event: FleetEvent) -> None:
        """A fact chatops set off itself (a restart and its outcome): stored and published
        whatever the budget, since a bot cannot flood it."""
        self._rows.add_event(event)
        self._bus.publish(event)
