"""Fleet alerts: bot transitions on the bus become ``down`` incidents, and flapping is tamed.

* A bot going ``down`` or ``stale`` opens its ``down`` incident; a stale bot that then goes down
  stays the same incident. Back ``online`` (or cleanly ``offline``) resolves it.
* ``flapping_transitions`` changes between up (``online``, ``late``) and down (``down``,
  ``stale``) within ``flapping_window`` seconds send one flapping alert; the bot's alerts then
  stay quiet until it has been stable for a whole window, and the state it settled in is what
  counts. Registering, a missed heartbeat and a clean ``offline`` are not flapping.
* A restart chatops set off (:class:`~chatops.records.fleet.RestartNotice`) makes the bot's stop
  expected: it is held, not alerted, and not counted as flapping. Back as a new process, a
  restart someone asked for sends one info "restarted" alert; not back, the held stop becomes
  the down incident then, saying so. A bot that was down already when the restart began is
  told by its incident: its recovery, or nothing more.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from chatops.alerts.router import AlertRouter
from chatops.config import AlertsConfig
from chatops.presentation.fleet_alerts import DOWN, STATE_SEVERITY, FleetStyle, fleet_notice
from chatops.presentation.formatting import plural
from chatops.records.alerts import Severity
from chatops.records.fleet import UP_STATUSES, BotState, FleetEvent, RestartNotice
from chatops.runtime.bus import EventBus
from chatops.timeutil import Clock, wall_clock

HEALTHY_STATUSES = frozenset({"online", "offline"})


def counts_as_flapping(old: str | None, new: str) -> bool:
    """Only a change between up and down is instability (not registering from ``offline``, a
    ``late`` heartbeat or a clean unregister)."""
    return (old in UP_STATUSES and new in STATE_SEVERITY) or (
        old in STATE_SEVERITY and new in UP_STATUSES
    )


def _span(seconds: float) -> str:
    """``10 minutes``, ``1 minute``, ``90 seconds``: the flapping window, as its notices say it."""
    if seconds % 60 == 0:
        return plural(int(seconds // 60), "minute")
    return plural(round(seconds), "second")


@dataclass(slots=True)
class _Expected:
    """A restart chatops set off, until it ends: the stop it causes is held here."""

    until: float
    """When the restart must have ended; past it, it is taken as not back."""
    announce: bool
    was_down: bool
    """An incident was open when it began: that incident tells how it ends."""
    held: tuple[str, str] | None = None
    """The problem state the bot is in meanwhile, and why."""


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
        self._expected: dict[str, _Expected] = {}
        self.host_of: Callable[[str], str | None] = lambda bot: None
        """Where a bot runs (told once the fleet exists): every fleet alert carries it."""
        router.register_style(DOWN, FleetStyle(lambda bot: self.host_of(bot)))
        router.on_tick(self.tick)
        self._unsubscribe: list[Callable[[], None]] = [
            bus.subscribe(FleetEvent, self.on_event),
            bus.subscribe(RestartNotice, self.on_restart),
        ]

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()

    def on_event(self, event: FleetEvent) -> None:
        if event.kind != "status_changed" or event.new_status is None:
            return
        bot, status, detail = event.channel, event.new_status, event.detail or event.new_status
        self._last_status[bot] = status
        expected = self._expected.get(bot)
        if expected is not None:
            if status in STATE_SEVERITY:
                expected.held = (status, detail)
                return
            expected.held = None
            if bot not in self._flapping:
                self._apply(bot, status, detail, event.ts)  # ends an incident open before
            return
        self._seen(bot, status, detail, event.ts, counts_as_flapping(event.old_status, status))

    def reconcile(self, bots: Iterable[BotState], now: float) -> None:
        """At start: every bot the store has down or stale has its incident. One can lack it:
        a flapping episode holds a bot's incident back in memory only, and a controller that
        stopped during one would otherwise leave that bot down and never told."""
        for bot in bots:
            status = str(bot.status)
            self._last_status[bot.channel] = status
            if status in STATE_SEVERITY and (bot.channel, DOWN) not in self._router.incidents:
                self._apply(bot.channel, status, f"{status} when the controller started", now)

    def on_restart(self, notice: RestartNotice) -> None:
        bot = notice.channel
        if notice.phase == "restarting":
            was_down = (bot, DOWN) in self._router.incidents
            self._expected[bot] = _Expected(
                notice.ts + notice.expect_for, notice.announce, was_down
            )
            return
        expected = self._expected.pop(bot, None)
        if expected is not None:
            self._ended(bot, expected, notice.phase == "restarted", notice.detail, notice.ts)

    def _ended(self, bot: str, expected: _Expected, back: bool, detail: str, ts: float) -> None:
        """Back: the one "restarted" alert (unless an incident tells it). A stop still held is
        a real one now: not back, it is the down incident, with the restart's story; back, the
        bot went down again after it came back."""
        if back and expected.announce and not expected.was_down and bot not in self._flapping:
            status = "online" if expected.held is not None else self._last_status.get(bot, "online")
            self._router.notify(
                fleet_notice("restarted", bot, status, detail, ts, Severity.INFO, self.host_of(bot))
            )
        if expected.held is not None:
            status, why = expected.held
            self._seen(bot, status, why if back else f"{why}\n{detail}", ts, counts=True)
        elif not back and not expected.was_down and self._last_status.get(bot) not in UP_STATUSES:
            # It stopped cleanly for the restart (offline) and never came back: as much an
            # outage as a crash would have been. (Down before the restart began, it stopped for
            # no restart: its open incident already says what happened.)
            why = f"it stopped for a restart and did not come back\n{detail}"
            self._seen(bot, "down", why, ts, counts=True)

    def _seen(self, bot: str, status: str, detail: str, ts: float, counts: bool) -> None:
        if not self._absorbed_by_flapping(bot, ts, status, counts):
            self._apply(bot, status, detail, ts)

    def _apply(self, bot: str, status: str, detail: str, ts: float) -> None:
        severity = STATE_SEVERITY.get(status)
        if severity is not None:
            self._router.problem(bot, DOWN, state=status, severity=severity, detail=detail, ts=ts)
        elif status in HEALTHY_STATUSES:
            self._router.resolve(bot, DOWN, state=status, ts=ts)

    def _absorbed_by_flapping(self, bot: str, ts: float, status: str, counts: bool) -> bool:
        if bot in self._flapping:
            if counts:
                self._flapping[bot] = ts
            return True
        if not counts:
            return False
        window = self._config.flapping_window
        recent = self._transitions.setdefault(bot, deque())
        recent.append(ts)
        while recent and recent[0] < ts - window:
            recent.popleft()
        if len(recent) < self._config.flapping_transitions:
            return False
        self._flapping[bot] = ts
        self._router.pause(bot)
        self._router.notify(
            fleet_notice(
                "flapping",
                bot,
                status,
                f"{len(recent)} status changes in {_span(window)}; "
                "alerts for it are paused until it is stable",
                ts,
                Severity.WARNING,
                self.host_of(bot),
            )
        )
        return True

    def tick(self) -> None:
        """Scheduler job: end the flapping episodes that have been quiet for a whole window,
        and the restarts that never said how they ended (a held stop is never lost)."""
        now = self._clock()
        for bot, expected in list(self._expected.items()):
            if now >= expected.until:
                del self._expected[bot]
                self._ended(bot, expected, False, "a restart did not end in time", now)
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
            self._router.notify(
                fleet_notice(
                    "stable",
                    bot,
                    status,
                    f"stable for {_span(self._config.flapping_window)}, now {status}",
                    now,
                    Severity.RESOLVED,
                    self.host_of(bot),
                )
            )
