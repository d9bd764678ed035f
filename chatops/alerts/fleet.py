"""Fleet alerts: bot transitions on the bus become ``down`` incidents, and flapping is tamed.

* A bot going ``down`` or ``stale`` opens its ``down`` incident; a stale bot that then goes down
  stays the same incident. Back ``online`` (or cleanly ``offline``) resolves it.
* ``flapping_transitions`` transitions within ``flapping_window`` seconds send one flapping
  alert; the bot's alerts then stay quiet until it has been stable for a whole window, and the
  state it settled in is what counts.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from chatops.alerts.fleet_style import DOWN, STATE_SEVERITY, FleetStyle, fleet_notice
from chatops.alerts.model import Severity
from chatops.alerts.router import AlertRouter
from chatops.config import AlertsConfig
from chatops.models import FleetEvent
from chatops.runtime.bus import EventBus
from chatops.timeutil import Clock, wall_clock

HEALTHY_STATUSES = frozenset({"online", "offline"})


class FleetAlerts:
    def __init__(
        self,
        router: AlertRouter,
        bus: EventBus,
        config: AlertsConfig,
        *,
        clock: Clock = wall_clock,
    ) -> None:
        self._router = router
        self._config = config
        self._clock = clock
        self._transitions: dict[str, deque[float]] = {}
        self._flapping: dict[str, float] = {}  # bot -> time of its latest transition
        self._last_status: dict[str, str] = {}
        router.register_style(DOWN, FleetStyle())
        router.on_tick(self.tick)
        self._unsubscribe: Callable[[], None] = bus.subscribe(FleetEvent, self.on_event)

    def close(self) -> None:
        self._unsubscribe()

    def on_event(self, event: FleetEvent) -> None:
        if event.kind != "status_changed" or event.new_status is None:
            return
        bot, status = event.channel, event.new_status
        self._last_status[bot] = status
        if self._absorbed_by_flapping(bot, event.ts, status):
            return
        self._apply(bot, status, event.detail or status, event.ts)

    def _apply(self, bot: str, status: str, detail: str, ts: float) -> None:
        severity = STATE_SEVERITY.get(status)
        if severity is not None:
            self._router.problem(bot, DOWN, state=status, severity=severity, detail=detail, ts=ts)
        elif status in HEALTHY_STATUSES:
            self._router.resolve(bot, DOWN, state=status, ts=ts)

    def _absorbed_by_flapping(self, bot: str, ts: float, status: str) -> bool:
        window = self._config.flapping_window
        recent = self._transitions.setdefault(bot, deque())
        recent.append(ts)
        while recent and recent[0] < ts - window:
            recent.popleft()
        if bot in self._flapping:
            self._flapping[bot] = ts
            return True
        if len(recent) < self._config.flapping_transitions:
            return False
        self._flapping[bot] = ts
        self._router.pause(bot)
        self._router.notify(
            fleet_notice(
                "flapping",
                bot,
                status,
                f"{len(recent)} status changes in {window / 60:g} minutes; "
                "alerts for it are paused until it is stable",
                ts,
                Severity.WARNING,
            )
        )
        return True

    def tick(self) -> None:
        """Scheduler job: end the flapping episodes that have been quiet for a whole window."""
        now = self._clock()
        for bot, last in list(self._flapping.items()):
            if now - last < self._config.flapping_window:
                continue
            del self._flapping[bot]
            self._transitions.pop(bot, None)
            self._router.resume(bot)
            status = self._last_status.get(bot, "unknown")
            if status in STATE_SEVERITY:
                if (bot, DOWN) not in self._router.incidents:
                    self._apply(bot, status, f"{status} after flapping", now)
                    continue  # the incident's own alert says it all
            elif status in HEALTHY_STATUSES:
                self._router.resolve(bot, DOWN, state=status, ts=now, quietly=True)
            minutes = self._config.flapping_window / 60
            self._router.notify(
                fleet_notice(
                    "stable",
                    bot,
                    status,
                    f"stable for {minutes:g} minutes, now {status}",
                    now,
                    Severity.RESOLVED,
                )
            )
