"""Exactly-once for replayed events: remember every idempotency key the store has committed.

Keys are claimed in memory when an event is accepted, and the store writes each key in the same
call (hence the same transaction) as its event, after the event has been validated: a refused
event leaves no key behind, so the client's corrected retry is stored. A replay that races the
original is recognised, the set survives restarts because it is reloaded from
``idempotency_keys``, and a claim whose commit fails is released again.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatops.services.errors import Invalid
from chatops.store import Store
from chatops.timeutil import Clock, wall_clock

MAX_EVENT_SKEW = 300.0
"""How far an event's ``ts`` may lead the controller's clock (clock skew); how far it may lag is
the data retention (an older event would be deleted the moment it is stored)."""


def event_time(ts: float | None, now: float, max_age: float) -> float:
    """The time to store an event at: its own ``ts`` when inside the window, else
    :class:`~chatops.services.errors.Invalid`.

    Checked before anything is written, so a refused event leaves no trace (not even its
    idempotency key) and the client may correct and resend it."""
    if ts is None:
        return now
    if ts > now + MAX_EVENT_SKEW or ts < now - max_age:
        raise Invalid(
            f"ts {ts:.0f} is outside the accepted window (from {max_age / 86400:g} days before "
            f"the controller's clock to {MAX_EVENT_SKEW:.0f} s after it) - at `$.ts`"
        )
    return ts


@dataclass(frozen=True, slots=True)
class Accepted:
    """An event let through: when it happened, and when the controller received it."""

    ts: float
    received_at: float


class IdempotencyGuard:
    def __init__(
        self,
        store: Store,
        *,
        max_event_age: float,
        clock: Clock = wall_clock,
        max_keys: int = 2_000_000,
    ) -> None:
        self._store = store
        self._max_event_age = max_event_age
        self._clock = clock
        self._max_keys = max_keys
        self._seen: dict[str, None] = {}

    def accept(self, ts: float | None, key: str | None) -> Accepted | None:
        """The one gate for exactly-once events (usage, task results): the event's time is
        checked first (a refusal leaves nothing behind), then its key; None means a replay of
        something already stored, to acknowledge and not store again."""
        now = self._clock()
        when = event_time(ts, now, self._max_event_age)
        if key is not None and not self.claim(key):
            return None
        return Accepted(when, now)

    async def load(self, since: float) -> None:
        for key in await self._store.db.load_keys(since):
            self._seen[key] = None

    def __len__(self) -> int:
        return len(self._seen)

    def claim(self, key: str) -> bool:
        """True when ``key`` is new: the caller then stores its event with the key, at once."""
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > self._max_keys:
            # Oldest claims first; the table still holds them until retention trims it.
            self._seen.pop(next(iter(self._seen)))

        def release_on_failure(error: BaseException | None) -> None:
            if error is not None:
                self._seen.pop(key, None)

        self._store.db.after_commit(release_on_failure)
        return True
