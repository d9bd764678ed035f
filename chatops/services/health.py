"""What the controller says of itself: a failing store makes it ``degraded`` (shown by
``chatops status``, ``/status`` and every ``get_status`` reply) instead of pretending."""

from __future__ import annotations

from dataclasses import dataclass

from chatops.store import Store


@dataclass(frozen=True, slots=True)
class Health:
    degraded: bool
    reason: str | None


class HealthService:
    def __init__(self, store: Store) -> None:
        self._store = store

    def current(self) -> Health:
        reason = self._store.degraded
        return Health(degraded=reason is not None, reason=reason)

    async def written(self) -> None:
        """Wait until every write queued so far is committed: a door that acknowledges to a
        remote sender (the hub to JetStream) does so only then."""
        await self._store.flush()
