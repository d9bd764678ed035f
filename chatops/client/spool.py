"""The client's bounded spool: events not yet acknowledged, in the order they were made.

An event stays here from the moment the bot logs it until the monitor acknowledges its commit,
so a monitor that is down, restarting, or drops the connection mid-flight costs nothing: the
spool is replayed on reconnect, and the event's idempotency key makes the replay harmless.
When full, the oldest event is dropped and counted.
"""

from __future__ import annotations

from collections import OrderedDict

from chatops.wire.protocol import LlmUsage, TaskResult

SpooledEvent = LlmUsage | TaskResult


class Spool:
    def __init__(self, max_events: int = 10_000) -> None:
        self.max_events = max_events
        self._events: OrderedDict[str, SpooledEvent] = OrderedDict()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._events)

    def __contains__(self, key: object) -> bool:
        return key in self._events

    def add(self, key: str, event: SpooledEvent) -> None:
        self._events[key] = event
        while len(self._events) > self.max_events:
            self._events.popitem(last=False)
            self.dropped += 1

    def ack(self, key: str) -> None:
        self._events.pop(key, None)

    def pending(self) -> list[tuple[str, SpooledEvent]]:
        return list(self._events.items())
