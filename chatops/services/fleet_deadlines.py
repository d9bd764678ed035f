"""When silence changes a bot's state: one timer for the fleet that is heard from, a timer per
bot for the rest.

A bot that is online and heartbeating has one threshold that matters, late: ``heartbeat_interval
+ late_grace`` after its last heartbeat, the same span for every bot. So those bots are kept in
the order they were last heard from (:attr:`SilenceDeadlines.heard`, oldest first; a heartbeat
moves its bot to the end) and one timer waits for the first of them. When it fires, the bots at
the front whose threshold has passed are judged, and it is armed again for the new first. A
heartbeat costs a move in a dict; a healthy fleet of 10,000 bots wakes that timer about once per
threshold, where a timer per bot woke the loop 900 times a second at a one-second interval.

The rarer thresholds keep a timer each (:mod:`chatops.runtime.timers`, keyed ``("reap",
channel)``): stale (``stale_timeout`` after the last heartbeat, for a late bot) and the end of a
reconnect grace after a controller restart. When it fires it looks again: if heartbeats moved
the threshold, it is armed at the new one; otherwise the bot changes state then, not at the next
sweep. Either way a threshold may be judged early, never late: whatever brings one closer (a
registration that ends a reconnect grace, a transition, a status reloaded from the database)
arms it sooner, and a bot whose heartbeat time is older than the last one in the order (the
wall clock stepped back) takes a timer of its own rather than a place it would be judged late
from. A stale, down or offline bot has neither: silence can change it no more.

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

HEARD_KEY = ("reap",)
"""The one timer of the bots in :attr:`SilenceDeadlines.heard` (a bot's own is ``("reap",
channel)``)."""


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
        self.heard: dict[str, float] = {}
        """Online bots -> when they were last heard from, oldest first (insertion order): whose
        late threshold the one timer ``HEARD_KEY`` waits for."""
        self._newest = float("-inf")
        """The latest time entered in :attr:`heard`: an entry is only ever added after it."""

    @property
    def _late_after(self) -> float:
        return self._config.heartbeat_interval + self._config.late_grace

    def give_grace(self, bot: BotState, until: float) -> None:
        self.graces[bot.channel] = until
        self.arm(bot)

    def end_grace(self, channel: str) -> None:
        self.graces.pop(channel, None)

    def heartbeat(self, bot: BotState) -> None:
        """``bot`` was just heard from (ingest's hot path): move it to the end of the order.
        A bot judged by a timer of its own keeps it until it fires."""
        heard = self.heard
        channel = bot.channel
        at = bot.last_heartbeat
        if at >= self._newest:
            if heard.pop(channel, None) is not None:
                heard[channel] = self._newest = at
        elif channel in heard:
            self.arm(bot)  # the clock went back: its place would judge it late

    def next(self, bot: BotState) -> float | None:
        """When ``bot``'s next threshold comes, or None when silence can change it no more."""
        if bot.status not in ALIVE_STATUSES or is_remote(bot.channel) or is_session(bot):
            return None  # another host's edge judges its silence; a session's pid is its life
        grace = self.graces.get(bot.channel)
        if grace is not None:
            return grace
        if bot.status is BotStatus.ONLINE:
            return bot.last_heartbeat + self._late_after
        if bot.status is BotStatus.LATE:
            return bot.last_heartbeat + self._config.stale_timeout
        return None

    def deadline(self, channel: str) -> float | None:
        """When silence will next judge ``channel``: its place in the order's threshold or its
        own timer; None when nothing waits for it."""
        at = self.heard.get(channel)
        if at is not None:
            return at + self._late_after
        return self._timers.when(("reap", channel))

    def arm(self, bot: BotState) -> None:
        """Make sure ``bot`` is judged no later than its next threshold: an online bot heard
        from last joins the end of the order; any other gets a timer of its own (an earlier
        timer is kept: it re-arms when it fires), and a bot that silence can change no more has
        neither."""
        channel = bot.channel
        deadline = self.next(bot)
        key = ("reap", channel)
        if deadline is None:
            self._timers.cancel(key)
            self.heard.pop(channel, None)
            return
        at = bot.last_heartbeat
        if bot.status is BotStatus.ONLINE and channel not in self.graces:
            if self.heard.get(channel) == at:
                return  # in its place already
            if at >= self._newest:
                self._timers.cancel(key)
                self.heard.pop(channel, None)
                self.heard[channel] = self._newest = at
                self._arm_heard()
                return
        self.heard.pop(channel, None)
        if not self.heard:
            self._newest = float("-inf")  # after the clock stepped back, the order starts again
        armed = self._timers.when(key)
        if armed is None or armed > deadline:
            self._timers.schedule(key, deadline, lambda: self.apply(channel))

    def _arm_heard(self) -> None:
        """The order's timer waits for its first bot's threshold (an earlier one is kept: it
        re-arms when it fires)."""
        if not self.heard:
            self._timers.cancel(HEARD_KEY)
            return
        deadline = next(iter(self.heard.values())) + self._late_after
        armed = self._timers.when(HEARD_KEY)
        if armed is None or armed > deadline:
            self._timers.schedule(HEARD_KEY, deadline, self._judge_heard)

    def _judge_heard(self) -> None:
        """The order's timer fired: judge every bot at its front whose threshold has passed."""
        cutoff = self._clock() - self._late_after
        due: list[str] = []
        for channel, at in self.heard.items():
            if at > cutoff:
                break
            due.append(channel)
        failed: Exception | None = None
        try:
            for channel in due:
                self.heard.pop(channel, None)
                try:
                    self.apply(channel)  # late now, or (heard since) back in the order
                except Exception as exc:  # one bot's failure must not leave the rest unwatched
                    failed = failed or exc
        finally:
            self._arm_heard()
        if failed is not None:
            raise failed  # the timers log it and show it in the diagnostics

    def apply(self, channel: str) -> None:
        """Apply ``channel``'s deadlines now (its timer fired, or a sweep asked): past its
        threshold the bot changes state; before it (heartbeats moved it), it is armed at the
        new one."""
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
        elif silence >= self._late_after and bot.status is BotStatus.ONLINE:
            self._transition(bot, BotStatus.LATE, f"heartbeat missed ({silence:.0f}s)")
        else:
            self.arm(bot)

    def close(self) -> None:
        for channel in self._bots:
            self._timers.cancel(("reap", channel))
        self._timers.cancel(HEARD_KEY)
        self.heard.clear()
