"""How many history rows (``events``) one bot may add: a token bucket per bot.

Transitions beyond it still change the bot's status and reach the bus (alerts see every one);
only their history rows are summarised as one "suppressed" row, so a flapping bot cannot grow
the database without bound.
"""

from __future__ import annotations

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
