"""Exactly-once for replayed events: remember every idempotency key the store has committed.

Keys are claimed in memory when an event is accepted and written in the same transaction as the
event, so a replay that races the original is recognised, and the set survives restarts because
it is reloaded from ``idempotency_keys``. A claim whose commit fails is released again.
"""

from __future__ import annotations

from chatops.store import Store


class IdempotencyGuard:
    def __init__(self, store: Store, max_keys: int = 2_000_000) -> None:
        self._store = store
        self._max_keys = max_keys
        self._seen: dict[str, None] = {}

    async def load(self, since: float) -> None:
        for key in await self._store.load_keys(since):
            self._seen[key] = None

    def __len__(self) -> int:
        return len(self._seen)

    def claim(self, key: str, ts: float) -> bool:
        """True when ``key`` is new: the caller stores its event, and the key with it."""
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > self._max_keys:
            # Oldest claims first; the table still holds them until retention trims it.
            self._seen.pop(next(iter(self._seen)))
        self._store.add_key(key, ts)

        def release_on_failure(error: BaseException | None) -> None:
            if error is not None:
                self._seen.pop(key, None)

        self._store.after_commit(release_on_failure)
        return True
