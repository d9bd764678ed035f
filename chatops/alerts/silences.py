"""Silences: mute one bot's alerts, or everything (maintenance), until a time; each expires by
itself. Incidents are still recorded while silenced; only notifications wait."""

from __future__ import annotations

from dataclasses import dataclass

from chatops.store import Store
from chatops.timeutil import Clock, from_sqlite, to_sqlite, wall_clock


@dataclass(slots=True, frozen=True)
class Silence:
    id: int
    channel: str | None  # None: maintenance, everything is silenced
    until: float
    created_at: float
    created_by: str | None
    reason: str | None


class SilenceService:
    def __init__(self, store: Store, *, clock: Clock = wall_clock) -> None:
        self._tables = store.alerts
        self._clock = clock
        self._silences: dict[int, Silence] = {}
        self._next_id = 1

    async def start(self) -> None:
        self._next_id = await self._tables.next_id("silences")
        for row in await self._tables.silences():
            self._silences[row["id"]] = Silence(
                id=row["id"],
                channel=row["channel"],
                until=row["until"],
                created_at=from_sqlite(row["created_at"]),
                created_by=row["created_by"],
                reason=row["reason"],
            )
        self.expire()

    def add(
        self,
        channel: str | None,
        seconds: float,
        *,
        created_by: str | None = None,
        reason: str | None = None,
    ) -> Silence:
        if seconds <= 0:
            raise ValueError("a silence must last a positive time")
        now = self._clock()
        silence = Silence(
            id=self._next_id,
            channel=channel,
            until=now + seconds,
            created_at=now,
            created_by=created_by,
            reason=reason,
        )
        self._next_id += 1
        self._silences[silence.id] = silence
        self._tables.add_silence(
            (silence.id, channel, silence.until, to_sqlite(now), created_by, reason)
        )
        return silence

    def remove(self, silence_id: int) -> bool:
        if self._silences.pop(silence_id, None) is None:
            return False
        self._tables.delete_silence(silence_id)
        return True

    def expire(self) -> None:
        now = self._clock()
        for silence in [s for s in self._silences.values() if s.until <= now]:
            self.remove(silence.id)

    def active(self) -> list[Silence]:
        now = self._clock()
        return sorted((s for s in self._silences.values() if s.until > now), key=lambda s: s.until)

    def is_silenced(self, channel: str) -> bool:
        now = self._clock()
        return any(
            s.until > now and (s.channel is None or s.channel == channel)
            for s in self._silences.values()
        )
