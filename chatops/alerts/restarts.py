"""Restart alerts: the restart policy giving up on a bot is its ``restart`` incident.

:class:`~chatops.services.recovery.events.RestartFatal` opens it (critical: nothing will
restart the bot by itself any more); a restart that brings the bot back, by hand or otherwise
(its :class:`~chatops.records.fleet.RestartNotice` says ``restarted``), resolves it. How the
fleet's own alerts treat a restart is :mod:`chatops.alerts.fleet`'s business.
"""

from __future__ import annotations

from collections.abc import Callable

from chatops.alerts.router import AlertRouter
from chatops.records.alerts import Severity
from chatops.records.fleet import RestartNotice
from chatops.runtime.bus import EventBus
from chatops.services.recovery.events import RestartFatal

RESTART = "restart"
"""The incident kind of a bot the restart policy gave up on."""


class RestartAlerts:
    def __init__(self, router: AlertRouter, bus: EventBus) -> None:
        self._router = router
        self._unsubscribe: list[Callable[[], None]] = [
            bus.subscribe(RestartFatal, self.on_fatal),
            bus.subscribe(RestartNotice, self.on_restart),
        ]

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()

    def on_fatal(self, event: RestartFatal) -> None:
        self._router.problem(
            event.channel,
            RESTART,
            state="fatal",
            severity=Severity.CRITICAL,
            detail=f"{event.channel} keeps exiting: {event.reason}",
            ts=event.ts,
        )

    def on_restart(self, notice: RestartNotice) -> None:
        if notice.phase == "restarted":
            self._router.resolve(notice.channel, RESTART, state="restarted", ts=notice.ts)
