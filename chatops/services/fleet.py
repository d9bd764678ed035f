"""The fleet registry and its status state machine.

    online ──(no heartbeat for heartbeat_interval + late_grace)──▶ late
    late   ──(nothing for stale_timeout)──────────────────────────▶ stale
    any    ──(clean unregister)───────────────────────────────────▶ offline
    alive  ──(connection dropped without unregister, or pid gone)─▶ down   (at once)
    any    ──(register or heartbeat)──────────────────────────────▶ online

After a controller restart the bots the database knew as alive get ``restart_grace`` seconds to
reconnect before they are declared down; their pids are watched meanwhile, so a death during the
grace is seen at once. Each transition is published on the bus and stored in ``events``.

Silence is noticed by timers at each threshold, not by a sweep: one for the online bots in the
order they were last heard, one per bot for the rest (see
:mod:`chatops.services.fleet_deadlines`).

Who may speak for a bot is :class:`~chatops.services.ownership.Ownership`'s to say; the fleet
asks it on every register, heartbeat and unregister.

What a bot can make the database grow by is bounded whatever it sends: status rows are
coalesced in the writer, a metrics row is written at most once per ``metrics_interval``
(the latest values win), and history rows per bot are rate-limited (:class:`EventBudget`).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from chatops.config import MonitoringConfig
from chatops.records.fleet import (
    ALIVE_STATUSES,
    SESSION_FEATURE,
    SESSIONS_WITHOUT_END,
    BotState,
    BotStatus,
    FleetEvent,
    StatusReset,
    is_session,
)
from chatops.records.hosts import is_remote
from chatops.runtime.bus import EventBus
from chatops.runtime.pidwatch import PidWatcher, pid_alive
from chatops.runtime.timers import Timers
from chatops.services.callers import Caller, LinkError
from chatops.services.errors import Invalid, NotFound, NotRegistered, Refused
from chatops.services.event_budget import FleetHistory
from chatops.services.fleet_deadlines import SilenceDeadlines
from chatops.services.idempotency import event_time
from chatops.services.ownership import Ownership
from chatops.store import Store
from chatops.timeutil import Clock, wall_clock

log = logging.getLogger(__name__)

HOSTNAME = socket.gethostname()


class FleetService:
    def __init__(
        self,
        store: Store,
        bus: EventBus,
        config: MonitoringConfig,
        ownership: Ownership,
        *,
        clock: Clock = wall_clock,
        timers: Timers | None = None,
        local_host: str = HOSTNAME,
    ) -> None:
        self._store = store
        self.local_host = local_host
        """This host's name for its own bots: an edge's ``edge.name``, else the hostname."""
        self._rows = store.fleet
        self._config = config
        self._clock = clock
        self.bots: dict[str, BotState] = {}
        self.ownership = ownership
        self.on_remove: list[Callable[[str], None]] = []
        """Called with a bot's name when it leaves the fleet (cleanup, a status reset)."""
        self.timers = timers if timers is not None else Timers(clock)
        """Where silence deadlines wait (:mod:`~chatops.services.fleet_deadlines`)."""
        self._deadlines = SilenceDeadlines(
            self.timers,
            config,
            clock,
            self.bots,
            lambda bot, new, why: self._transition(bot, new, why),
            lambda channel: self.ownership.owner(channel) is not None,
        )
        self._metrics_due: dict[str, float] = {}
        self._history = FleetHistory(store.fleet, bus)
        self._pids = PidWatcher(self._pid_exited)
        self.hub = False
        """This controller takes in edges: local names may not look like ``host/name``."""
        self.on_change: list[Callable[[BotState], None]] = []
        """Called with every bot added or changed (the encoded status snapshot listens)."""

    async def start(self) -> None:
        """Load the fleet the database knows and open the reconnect window for live bots."""
        now = self._clock()
        for bot in await self._rows.load_bots():
            self.bots[bot.channel] = bot
            if is_remote(bot.channel):
                continue  # its edge reports it again (see chatops.services.hosts)
            self.ownership.remember(bot.channel, bot.pid, local=self.is_local(bot))
            if bot.status not in ALIVE_STATUSES:
                continue
            local = self.is_local(bot)
            if local and not pid_alive(bot.pid):
                self._transition(bot, BotStatus.DOWN, "process gone while the controller was down")
                continue
            if is_session(bot):
                self.ownership.remember(bot.channel, bot.pid, local=local, session=True)
            else:  # a session's hooks speak when it acts, not to reconnect: its pid is its life
                self._deadlines.give_grace(bot, now + self._config.restart_grace)
            if local:
                # Seen at once if it dies during the grace, not when the grace ends.
                self._pids.watch(bot.pid)

    def is_local(self, bot: BotState) -> bool:
        """The bot runs on this host: its pid can be watched and signalled."""
        return bot.host in (None, self.local_host, HOSTNAME)

    @property
    def pids_watched(self) -> bool:
        """True when the kernel reports a local bot's exit (pidfd): no sweep needs to look."""
        return self._pids.supported

    def close(self) -> None:
        self._pids.close()
        self._deadlines.close()

    # -- messages --------------------------------------------------------------------------------

    def register(
        self,
        caller: Caller,
        channel: str,
        pid: int,
        features: dict[str, Any],
        host: str | None = None,
        *,
        session: bool = False,
    ) -> BotStatus:
        """``caller`` registers the bot ``channel`` run by ``pid``; its status after. A bot's
        pid is the caller's own or a descendant's (a supervisor registers its workers); a
        coding-agent ``session``'s is the caller's or an ancestor's (its hook speaks for it,
        see :mod:`chatops.services.sessions`), and it is owned by its process, not by the
        hook's brief connection."""
        vouched = self.ownership.vouches(
            caller, pid, session=session, required=self._config.verify_peer_pid or session
        )
        if self.hub and is_remote(channel):
            raise Invalid(f"{channel!r}: on a hub, '/' separates an edge's host from its bots")
        now = self._clock()
        bot = self.bots.get(channel)
        unchanged = (
            bot is not None
            and bot.status is BotStatus.ONLINE
            and bot.pid == pid
            and self.ownership.owner(channel) is caller
        )
        self.ownership.claim(
            caller,
            channel,
            pid,
            local=caller.local,
            vouched=caller.pid is not None and vouched and not session,
            session=session,
        )
        if bot is None:
            bot = BotState(
                channel=channel,
                pid=pid,
                status=BotStatus.OFFLINE,
                registered_at=now,
                last_heartbeat=now,
                status_changed_at=now,
            )
            self.bots[channel] = bot
        elif bot.pid != pid:
            self._pids.unwatch(bot.pid)
        bot.pid = pid
        bot.set_features(features)
        bot.host = host or (self.local_host if caller.local else None)
        bot.uid = caller.uid
        bot.registered_at = now
        bot.last_heartbeat = now
        self._deadlines.end_grace(channel)
        if caller.local and not self._pids.watch(bot.pid) and not pid_alive(bot.pid):
            log.warning("%s registered pid %d which is not running", channel, bot.pid)
        self._transition(bot, BotStatus.ONLINE, "registered", force_save=True)
        self._deadlines.arm(bot)  # the reconnect grace it ended may have held a later deadline
        if not unchanged:
            self._event(bot, "registered", f"pid {bot.pid} via {caller.describe()}")
        return bot.status

    def heartbeat(
        self,
        caller: Caller,
        channel: str,
        ts: float | None = None,
        rss_mb: float | None = None,
        cpu_pct: float | None = None,
    ) -> bool:
        """Take ``channel``'s heartbeat; True when it queued a write (its metrics row, a status
        change), so that its ack waits for the commit."""
        bot = self.bots.get(channel)
        if bot is None:
            raise NotRegistered(f"{channel!r} is not registered; send register first")
        self.ownership.authorize(caller, channel)
        adopting = channel not in caller.owns
        if adopting and self.hub and is_remote(channel):
            raise Refused(f"{channel!r} is supervised by its host's edge: only it reports the bot")
        now = self._clock()
        max_age = self._config.data_retention_days * 86400.0  # older than kept: refused
        sampled_at = now if ts is None else event_time(ts, now, max_age)
        bot.last_heartbeat = now
        if rss_mb is not None:
            bot.rss_mb = rss_mb
        if cpu_pct is not None:
            bot.cpu_pct = cpu_pct
        if adopting:
            self.ownership.adopt(caller, channel)
            self._deadlines.end_grace(channel)
            self._deadlines.arm(bot)  # back from a reconnect grace: judged from this heartbeat
        due = now >= self._metrics_due.get(channel, 0.0)
        if due:
            # One metrics row and one status row per metrics_interval: the heartbeats in between
            # update the live values (bot_status, /status, /metrics) and the next rows carry
            # them. At 10,000 bots a second, a status row per heartbeat was most of the
            # controller's CPU; after a restart every live bot gets restart_grace anyway.
            self._metrics_due[channel] = now + self._config.metrics_interval
            self._rows.add_metrics(bot, sampled_at)
        if bot.status is not BotStatus.ONLINE:
            self._transition(bot, BotStatus.ONLINE, "heartbeat")
            return True
        self._deadlines.heartbeat(bot)
        if due:
            self._save(bot)
            return True
        for listener in self.on_change:
            listener(bot)
        return False

    def unregister(self, caller: Caller, channel: str, *, why: str = "unregistered") -> None:
        bot = self.bots.get(channel)
        if bot is None:
            raise NotFound(f"unknown bot {channel!r}")
        self.ownership.authorize(caller, channel)
        self.ownership.release(channel)
        self._pids.unwatch(bot.pid)
        self._transition(bot, BotStatus.OFFLINE, why)

    def seen(self, bot: BotState) -> None:
        """A bot that sends no heartbeats (a coding-agent session) was heard from: its last
        sign of life, for the status views."""
        bot.last_heartbeat = self._clock()
        for listener in self.on_change:
            listener(bot)

    # -- facts and upkeep ------------------------------------------------------------------------

    def record(self, channel: str, kind: str, detail: str) -> None:
        """A notable fact about a bot that is not a transition (a restart and its outcome):
        in its events (``/status bot:``) and on the bus."""
        bot = self.bots.get(channel)
        event = FleetEvent(
            ts=self._clock(),
            channel=channel,
            kind=kind,
            new_status=None if bot is None else str(bot.status),
            detail=detail[:2000],
        )
        self._history.note(event)

    def connection_lost(self, caller: Caller) -> None:
        for channel in self.ownership.connection_lost(caller):
            bot = self.bots[channel]
            if bot.status in ALIVE_STATUSES:
                self._transition(bot, BotStatus.DOWN, "connection lost without unregister")

    async def reset_statuses(self) -> StatusReset:
        """Drop the in-memory statuses of bots without a live connection and read them again
        from the database; ask every connected bot to register again (its answer rebuilds its
        own)."""
        stored = {bot.channel: bot for bot in await self._rows.load_bots()}
        reloaded = 0
        for channel in list(self.bots):
            if self.ownership.owner(channel) is not None:
                continue
            fresh = stored.get(channel)
            if fresh is None:
                del self.bots[channel]
                self.ownership.forget(channel)
                for removed in self.on_remove:
                    removed(channel)
                continue
            self.bots[channel] = fresh
            # The stored status may be alive where the one in memory was not.
            self._deadlines.arm(fresh)
            reloaded += 1
            for listener in self.on_change:
                listener(fresh)
        asked = 0
        for channel in list(self.bots):
            try:
                self.ownership.link_for(channel).tell(channel, "register", "status reset")
                asked += 1
            except LinkError:
                continue
        return StatusReset(reloaded=reloaded, asked_to_register=asked)

    def forget(self, channel: str) -> bool:
        """Remove a bot that is neither connected nor alive (stale-resource cleanup)."""
        bot = self.bots.get(channel)
        if bot is None or self.ownership.owner(channel) is not None:
            return False
        if bot.status in ALIVE_STATUSES:
            return False
        del self.bots[channel]
        self.ownership.forget(channel)
        self._rows.delete_bot(channel)
        for removed in self.on_remove:
            removed(channel)
        return True

    # -- time ------------------------------------------------------------------------------------

    def reap(self) -> None:
        """Notice vanished local pids where the kernel cannot report them (no pidfd), and apply
        every bot's silence deadline now (which its timer does by itself)."""
        for channel in list(self.bots):
            bot = self.bots[channel]
            unseen = not self._pids.supported and channel not in self._deadlines.graces
            local = bot.status in ALIVE_STATUSES and self.is_local(bot)
            if local and unseen and not pid_alive(bot.pid):
                self._transition(bot, BotStatus.DOWN, f"pid {bot.pid} is gone")
                continue
            self._deadlines.apply(channel)

    def silence_deadline(self, channel: str) -> float | None:
        """When silence will next judge ``channel`` (None: it cannot change it)."""
        return self._deadlines.deadline(channel)

    # -- views -----------------------------------------------------------------------------------

    def snapshot(self, channel: str | None = None) -> list[BotState]:
        bots = self.bots.values() if channel is None else filter(None, [self.bots.get(channel)])
        return [replace(bot, features=dict(bot.features)) for bot in bots]

    # -- another host's bots (chatops.services.hosts) --------------------------------------------

    def mirror(self, bot: BotState, status: BotStatus, reason: str) -> None:
        """Take in a bot another host's edge supervises, in the state it reports: added if new,
        saved, and its transition (if any) stored and published as a local one would be."""
        self.bots.setdefault(bot.channel, bot)
        self._transition(bot, status, reason, force_save=True)

    # -- internals -------------------------------------------------------------------------------

    def _pid_exited(self, pid: int) -> None:
        for bot in self.bots.values():
            if bot.pid == pid and bot.status in ALIVE_STATUSES:
                self.ownership.release(bot.channel)
                if bot.features.get(SESSION_FEATURE) in SESSIONS_WITHOUT_END:
                    # It has no end event to say it was closed: its exit is its end.
                    self._transition(bot, BotStatus.OFFLINE, f"session ended (pid {pid} exited)")
                else:
                    self._transition(bot, BotStatus.DOWN, f"pid {pid} exited")

    def _transition(
        self, bot: BotState, new: BotStatus, reason: str, *, force_save: bool = False
    ) -> None:
        old = bot.status
        if old is new:
            if force_save:
                self._save(bot)
            return
        bot.status = new
        bot.status_changed_at = self._clock()
        self._deadlines.arm(bot)
        self._save(bot)
        self._event(bot, "status_changed", reason, old=str(old))
        log.info("%s: %s -> %s (%s)", bot.channel, old, new, reason)

    def _save(self, bot: BotState) -> None:
        self._rows.save_bot(bot)
        for listener in self.on_change:
            listener(bot)

    def _event(self, bot: BotState, kind: str, detail: str, *, old: str | None = None) -> None:
        self._history.add(
            FleetEvent(
                ts=self._clock(),
                channel=bot.channel,
                kind=kind,
                old_status=old,
                new_status=str(bot.status),
                detail=detail,
            )
        )
