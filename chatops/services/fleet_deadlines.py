"""The fleet's silence deadlines as timers, kept beside the state machine: a mixin of
``FleetService``, which owns the state these read.

Each bot has one timer (:mod:`chatops.runtime.timers`), keyed ``("reap", channel)`` and set at
its next threshold: late (``heartbeat_interval + late_grace`` after its last heartbeat), then
stale (``stale_timeout`` after it), or the end of its reconnect grace after a controller
restart. A heartbeat does not touch the timer (ingest is hot): the timer is armed once, and
when it fires it looks again. If heartbeats moved the threshold, it is armed at the new one;
otherwise the bot changes state then, not at the next sweep. A timer may fire early, never
late: whatever brings a threshold closer (a registration that ends a reconnect grace, a
transition, a status reloaded from the database) arms it sooner. A stale, down or offline bot
has no timer: silence can change it no more.
"""

from __future__ import annotations

from chatops.config import MonitoringConfig
from chatops.models import ALIVE_STATUSES, BotState, BotStatus
from chatops.runtime.timers import Timers
from chatops.timeutil import Clock
from chatops.wire.peer import Peer


class FleetDeadlines:
    bots: dict[str, BotState]
    timers: Timers
    _clock: Clock
    _config: MonitoringConfig
    _owner: dict[str, Peer]
    _reconnect_deadline: dict[str, float]

    def _transition(
        self, bot: BotState, new: BotStatus, reason: str, *, force_save: bool = False
    ) -> None:
        raise NotImplementedError  # the fleet's own

    def _deadline(self, bot: BotState) -> float | None:
        """When ``bot``'s next threshold comes, or None when silence can change it no more."""
        if bot.status not in ALIVE_STATUSES:
            return None
        grace = self._reconnect_deadline.get(bot.channel)
        if grace is not None:
            return grace
        if bot.status is BotStatus.ONLINE:
            return bot.last_heartbeat + self._config.heartbeat_interval + self._config.late_grace
        if bot.status is BotStatus.LATE:
            return bot.last_heartbeat + self._config.stale_timeout
        return None

    def _arm(self, bot: BotState) -> None:
        """Make sure ``bot``'s timer fires no later than its next threshold: an earlier timer
        is kept (it re-arms when it fires), a later one or none is replaced, and a bot that
        silence can change no more has none."""
        key = ("reap", bot.channel)
        deadline = self._deadline(bot)
        if deadline is None:
            self.timers.cancel(key)
            return
        armed = self.timers.when(key)
        if armed is None or armed > deadline:
            channel = bot.channel
            self.timers.schedule(key, deadline, lambda: self._threshold(channel))

    def _threshold(self, channel: str) -> None:
        """Apply ``channel``'s deadlines now (its timer fired, or a sweep asked): past its
        threshold the bot changes state; before it (heartbeats moved it), the timer is armed
        at the new one."""
        bot = self.bots.get(channel)
        if bot is None:
            return
        now = self._clock()
        grace = self._reconnect_deadline.get(channel)
        if grace is not None:
            if bot.status not in ALIVE_STATUSES or channel in self._owner:
                del self._reconnect_deadline[channel]  # back, or gone anyway: no grace left
            elif now >= grace:
                del self._reconnect_deadline[channel]
                self._transition(bot, BotStatus.DOWN, "did not reconnect after controller restart")
                return
            else:
                self._arm(bot)
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
            self._arm(bot)
