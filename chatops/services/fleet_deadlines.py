"""When silence changes a bot's state: each bot's next threshold as a keyed timer.

Each bot has one timer (:mod:`chatops.runtime.timers`), keyed ``("reap", channel)`` and set at
its next threshold: late (``heartbeat_interval + late_grace`` after its last heartbeat), then
stale (``stale_timeout`` after it), or the end of its reconnect grace after a controller
restart. A heartbeat does not touch the timer (ingest is hot): the timer is armed once, and
when it fires it looks again. If heartbeats moved the threshold, it is armed at the new one;
otherwise the bot changes state then, not at the next sweep. A timer may fire early, never
late: whatever brings a threshold closer (a registration that ends a reconnect grace, a
transition, a status reloaded from the database) arms it sooner. A stale, down or offline bot
has no timer: silence can change it no more.

The fleet owns the statuses and hands this object what it needs: its bots, how to change one's
status, and whether a bot has a live connection.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from chatops.config import MonitoringConfig
from chatops.records.fleet import ALIVE_STATUSES, BotState, BotStatus, is_session
from chatops.records.hosts import is_remote
from chatops.runtime.timers import Timers
from chatops.timeutil import Clock

Transition = Callable[[BotState, BotStatus, str], None]


class SilenceDeadlines:
    def __init__(
        self,
        timers: Timers,
        config: MonitoringConfig,
        clock: Clock,
        bots: Mapping[str, BotState],
        transition: Transition,
        connected: Callable[[str], bool],
    ) -> None:
        self._timers = timers
        self._config = config
        self._clock = clock
        self._bots = bots
        self._transition = transition
        self._connected = connected
        self.graces: dict[str, float] = {}
        """Bots alive before a controller restart -> when they must have reconnected by."""

    def give_grace(self, bot: BotState, until: float) -> None:
        self.graces[bot.channel] = until
        self.arm(bot)

    def end_grace(self, channel: str) -> None:
        self.graces.pop(channel, None)

    def next(self, bot: BotState) -> float | None:
        """When ``bot``'s next threshold comes, or None when silence can change it no more."""
        if bot.status not in ALIVE_STATUSES or is_remote(bot.channel) or is_session(bot):
            return None  # another host's edge judges its silence; a session's pid is its life
        grace = self.graces.get(bot.channel)
        if grace is not None:
            return grace
        if bot.status is BotStatus.ONLINE:
            return bot.last_heartbeat + self._config.heartbeat_interval + self._config.late_grace
        if bot.status is BotStatus.LATE:
            return bot.last_heartbeat + self._config.stale_timeout
        return None

    def arm(self, bot: BotState) -> None:
        """Make sure ``bot``'s timer fires no later than its next threshold: an earlier timer
        is kept (it re-arms when it fires), a later one or none is replaced, and a bot that
        silence can change no more has none."""
        key = ("reap", bot.channel)
        deadline = self.next(bot)
        if deadline is None:
            self._timers.cancel(key)
            return
        armed = self._timers.when(key)
        if armed is None or armed > deadline:
            channel = bot.channel
            self._timers.schedule(key, deadline, lambda: self.apply(channel))

    def apply(self, channel: str) -> None:
        """Apply ``channel``'s deadlines now (its timer fired, or a sweep asked): past its
        threshold the bot changes state; before it (heartbeats moved it), the timer is armed
        at the new one."""
        bot = self._bots.get(channel)
        if bot is None or is_remote(channel):
            return
        now = self._clock()
        grace = self.graces.get(channel)
        if grace is not None:
            if bot.status not in ALIVE_STATUSES or self._connected(channel):
                del self.graces[channel]  # back, or gone anyway: no grace left
            elif now >= grace:
                del self.graces[channel]
                self._transition(bot, BotStatus.DOWN, "did not reconnect after controller restart")
                return
            else:
                self.arm(bot)
                return
        if bot.status not in ALIVE_STATUSES:
            return
        silence = now - bot.last_heartbeat
        cfg = self._config
        if silence >= cfg.stale_timeout and bot.status is not BotStatus.STALE:
            self._transition(bot, BotStatus.STALE, f"no heartbeat for {silence:.0f}s")
        elif silence >= cfg.heartbeat_interval + cfg.late_grace and bot.status is BotStatus.ONLINE:
            self._transition(bot, BotStatus.LATE, f"heartbeat missed ({silence:.0f}s)")
        else:
            self.arm(bot)

    def close(self) -> None:
        for channel in self._bots:
            self._timers.cancel(("reap", channel))
