"""The in-process event bus: services publish typed events, subscribers choose their types.

``subscribe(EventType, handler)`` delivers every published event that is an instance of
``EventType`` (so a feature's events are their own classes: a quota crossing, a cache warning,
an approval request, a failed restart). Delivery is synchronous fan-out: a subscriber that needs
I/O schedules it itself, and one that raises is logged while the others still get the event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)

E = TypeVar("E")


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[tuple[type[Any], Callable[[Any], None]]] = []

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> Callable[[], None]:
        """Call ``handler`` with every event of ``event_type``; returns the unsubscribe."""
        entry: tuple[type[Any], Callable[[Any], None]] = (event_type, handler)
        self._subscribers.append(entry)

        def unsubscribe() -> None:
            if entry in self._subscribers:
                self._subscribers.remove(entry)

        return unsubscribe

    def publish(self, event: object) -> None:
        for event_type, handler in list(self._subscribers):
            if not isinstance(event, event_type):
                continue
            try:
                handler(event)
            except Exception:
                log.exception("subscriber %r failed on %s", handler, type(event).__name__)
