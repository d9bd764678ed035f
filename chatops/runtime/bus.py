"""The in-process event bus: services publish, the alert router and cogs subscribe."""

from __future__ import annotations

import logging
from collections.abc import Callable

from chatops.models import FleetEvent

log = logging.getLogger(__name__)

Subscriber = Callable[[FleetEvent], None]


class EventBus:
    """Synchronous fan-out. A subscriber that needs to do I/O schedules it itself; one that
    raises is logged and the others still get the event."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

        return unsubscribe

    def publish(self, event: FleetEvent) -> None:
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception:
                log.exception("event subscriber %r failed on %s", subscriber, event.kind)
