"""The fleet registry and its status state machine.

    online ──(no heartbeat for heartbeat_interval + late_grace)──▶ late
    late   ──(nothing for stale_timeout)──────────────────────────▶ stale
    any    ──(clean unregister)───────────────────────────────────▶ offline
    alive  ──(connection dropped without unregister, or pid gone)─▶ down   (at once)
    any    ──(register or heartbeat)──────────────────────────────▶ online

After a controller restart the bots the database knew as alive get ``restart_grace`` seconds to
reconnect before they are declared down; their pids are watched meanwhile, so a death during the
grace is seen at once. Each transition is published on the bus and stored in ``events``.

Silence is noticed by a timer per bot at its next threshold, not by a sweep (see
:mod:`chatops.services.fleet_deadlines`).

A name belongs to the connection that registered it (see ``docs/protocol.md``, "Ownership"):
only that connection, or one opened by the registered process or a descendant of it, may
heartbeat, unregister or report for it, and a live owner cannot be displaced.

What a bot can make the database grow by is bounded whatever it sends: status rows are
coalesced in the writer, a metrics row is written at most once per ``metrics_interval``
(the latest values win), and history rows per bot are rate-limited (:class:`EventBudget`).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import replace

from chatops.config import MonitoringConfig
from chatops.models import ALIVE_STATUSES, BotState, BotStatus, FleetEvent
from chatops.presentation.formatting import plural
from chatops.runtime.bus import EventBus
from chatops.runtime.pidwatch import PidWatcher, pid_alive
from chatops.runtime.timers import Timers
from chatops.services.fleet_deadlines import FleetDeadlines
from chatops.services.fleet_upkeep import FleetUpkeep
from chatops.store import Store
from chatops.timeutil import Clock, wall_clock
from chatops.wire.peer import Peer, is_self_or_descendant
from chatops.wire.protocol import (
    ErrorCode,
    Heartbeat,
    ProtocolError,
    Register,
    RequestId,
    Unregister,
    event_time,
)
from chatops.wire.pushes import NotConnected

log = logging.getLogger(__name__)

HOSTNAME = socket.gethostname()

# History rows (``events``) one bot may add: a burst of EVENT_BURST, then one per
# EVENT_REFILL seconds. Transitions beyond it still change the status and reach the bus (alerts
# see every one); only their history rows are summarised as one "suppressed" row.
EVENT_BURST = 30
EVENT_REFILL = 2.0


class EventBudget:
    """A token bucket per bot for history rows."""

    __slots__ = ("_at", "_tokens", "suppressed")

    def __init__(self, now: float) -> None:
        self._tokens = float(EVENT_BURST)
        self._at = now
        self.suppressed = 0

    def take(self, now: float) -> bool:
        self._tokens = min(EVENT_BURST, self._tokens + max(0.0, now - self._at) / EVENT_REFILL)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        self.suppressed += 1
        return False


class FleetService(FleetUpkeep, FleetDeadlines):
    def __init__(
        self,
        store: Store,
        bus: EventBus,
        config: MonitoringConfig,
        *,
        clock: Clock = wall_clock,
        timers: Timers | None = None,
    ) -> None:
        self._store = store
        self._rows = store.fleet
        self._bus = bus
        self._config = config
        self._clock = clock
        self.timers = timers if timers is not None else Timers(clock)
        """Where each bot's silence deadline waits (keys ``("reap", channel)``)."""
        self.bots: dict[str, BotState] = {}
        self._owner: dict[str, Peer] = {}
        self._vouched: set[str] = set()
        self.on_remove: list[Callable[[str], None]] = []
        """Called with a bot's name when it leaves the fleet (cleanup, a status reset)."""
        self._channels_of: dict[Peer, set[str]] = {}
        self._reconnect_deadline: dict[str, float] = {}
        self._metrics_due: dict[str, float] = {}
        self._budgets: dict[str, EventBudget] = {}
        self._pids = PidWatcher(self._pid_exited)
        self.on_change: list[Callable[[BotState], None]] = []
        """Called with every bot added or changed (the encoded status snapshot listens)."""

    async def start(self) -> None:
        """Load the fleet the database knows and open the reconnect window for live bots."""
        now = self._clock()
        for bot in await self._rows.load_bots():
            self.bots[bot.channel] = bot
            if bot.status not in ALIVE_STATUSES:
                continue
            local = bot.host in (None, HOSTNAME)
            if local and not pid_alive(bot.pid):
                self._transition(bot, BotStatus.DOWN, "process gone while the controller was down")
                continue
            self._reconnect_deadline[bot.channel] = now + self._config.restart_grace
            self._arm(bot)
            if local:
                # Seen at once if it dies during the grace, not when the grace ends.
                self._pids.watch(bot.pid)

    @property
    def pids_watched(self) -> bool:
        """True when the kernel reports a local bot's exit (pidfd): no sweep needs to look."""
        return self._pids.supported

    def close(self) -> None:
        self._pids.close()
        for channel in self.bots:
            self.timers.cancel(("reap", channel))

    # -- messages --------------------------------------------------------------------------------

    def register(self, peer: Peer, msg: Register) -> dict[str, str]:
        vouched = peer.pid is None or is_self_or_descendant(msg.pid, peer.pid)
        if self._config.verify_peer_pid and not vouched:
            raise ProtocolError(
                ErrorCode.PERMISSION_DENIED,
                f"pid {msg.pid} is neither the connecting process ({peer.pid}) "
                "nor one of its descendants",
                msg.id,
            )
        now = self._clock()
        bot = self.bots.get(msg.channel)
        if bot is not None:
            self._check_takeover(peer, bot, msg.id)
        unchanged = (
            bot is not None
            and bot.status is BotStatus.ONLINE
            and bot.pid == msg.pid
            and self._owner.get(msg.channel) is peer
        )
        if bot is None:
            bot = BotState(
                channel=msg.channel,
                pid=msg.pid,
                status=BotStatus.OFFLINE,
                registered_at=now,
                last_heartbeat=now,
                status_changed_at=now,
            )
            self.bots[msg.channel] = bot
        elif bot.pid != msg.pid:
            self._pids.unwatch(bot.pid)
        bot.pid = msg.pid
        bot.set_features(msg.features)
        bot.host = msg.host or (HOSTNAME if peer.local else None)
        bot.uid = peer.uid
        bot.registered_at = now
        bot.last_heartbeat = now
        if peer.pid is not None and vouched:
            self._vouched.add(msg.channel)
        else:
            self._vouched.discard(msg.channel)
        self._attach(msg.channel, peer)
        if peer.local and not self._pids.watch(bot.pid) and not pid_alive(bot.pid):
            log.warning("%s registered pid %d which is not running", msg.channel, bot.pid)
        self._transition(bot, BotStatus.ONLINE, "registered", force_save=True)
        self._arm(bot)  # the reconnect grace it ended may have held a later deadline
        if not unchanged:
            self._event(bot, "registered", f"pid {bot.pid} via {peer.describe()}")
        return {"status": str(bot.status)}

    def heartbeat(self, peer: Peer, msg: Heartbeat) -> None:
        bot = self.bots.get(msg.channel)
        if bot is None:
            raise ProtocolError(
                ErrorCode.NOT_REGISTERED,
                f"{msg.channel!r} is not registered; send register first",
                msg.id,
            )
        self.authorize(peer, msg.channel, msg.id)
        now = self._clock()
        sampled_at = event_time(msg.ts, now, self._max_event_age, msg.id)
        bot.last_heartbeat = now
        if msg.rss_mb is not None:
            bot.rss_mb = msg.rss_mb
        if msg.cpu_pct is not None:
            bot.cpu_pct = msg.cpu_pct
        if self._owner.get(msg.channel) is None:
            self._attach(msg.channel, peer)
        if now >= self._metrics_due.get(msg.channel, 0.0):
            # One row per metrics_interval; the heartbeats in between update the live values
            # (bot_status, /status) and are superseded by the next row.
            self._metrics_due[msg.channel] = now + self._config.metrics_interval
            self._rows.add_metrics(bot, sampled_at)
        if bot.status is not BotStatus.ONLINE:
            self._transition(bot, BotStatus.ONLINE, "heartbeat")
        else:
            self._save(bot)

    def unregister(self, peer: Peer, msg: Unregister) -> None:
        bot = self.bots.get(msg.channel)
        if bot is None:
            raise ProtocolError(ErrorCode.NOT_FOUND, f"unknown bot {msg.channel!r}", msg.id)
        self.authorize(peer, msg.channel, msg.id)
        self._detach(msg.channel)
        self._pids.unwatch(bot.pid)
        self._transition(bot, BotStatus.OFFLINE, "unregistered")

    # -- ownership -------------------------------------------------------------------------------

    def may_speak(self, peer: Peer, channel: str) -> bool:
        """True when ``peer`` may speak for the registered bot ``channel``: it is the connection
        that registered it, or the kernel vouches that it was opened by the registered process
        or one of its descendants (clients that open a connection per message, and a bot that
        reconnects after a controller restart)."""
        bot = self.bots.get(channel)
        if bot is None:
            return False
        if self._owner.get(channel) is peer:
            return True
        return peer.pid is not None and peer.local and is_self_or_descendant(peer.pid, bot.pid)

    def authorize(self, peer: Peer, channel: str, request_id: RequestId) -> None:
        """Refuse ``peer`` speaking for a bot it does not own; unknown names are the caller's
        business (a heartbeat needs a registration, usage may come from unregistered scripts)."""
        if channel in self.bots and not self.may_speak(peer, channel):
            bot = self.bots[channel]
            raise ProtocolError(
                ErrorCode.PERMISSION_DENIED,
                f"{channel!r} belongs to the connection that registered it (pid {bot.pid}); "
                f"{peer.describe()} may not speak for it",
                request_id,
            )

    def _check_takeover(self, peer: Peer, bot: BotState, request_id: RequestId) -> None:
        """A name is taken over only once its previous owner is gone (connection or pid)."""
        owner = self._owner.get(bot.channel)
        if owner is None or owner is peer:
            return
        local = bot.host in (None, HOSTNAME)
        if local and not pid_alive(bot.pid):
            return  # the owner's connection has not been reaped yet, but its process is gone
        raise ProtocolError(
            ErrorCode.PERMISSION_DENIED,
            f"{bot.channel!r} is owned by a live connection ({owner.describe()}, registered pid "
            f"{bot.pid}); it can be taken over once that connection closes or its process exits",
            request_id,
        )

    def vouched(self, channel: str) -> bool:
        """True when the bot's registered pid was vouched for by the kernel (its connection's
        SO_PEERCRED pid, or an ancestor of it) in this controller's life: only such a pid may
        be signalled."""
        return channel in self._vouched

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
        self._rows.add_event(event)
        self._bus.publish(event)

    def owns_any(self, peer: Peer) -> bool:
        """True when ``peer`` has registered a bot (it is an agent's connection)."""
        return bool(self._channels_of.get(peer))

    def peer_for(self, channel: str) -> Peer:
        """The live connection that owns ``channel``, to push to (``peer.send``/``peer.ask``);
        :class:`NotConnected` when the bot is unknown or has no connection now."""
        peer = self._owner.get(channel)
        if peer is None or peer.link is None or peer.link.closed:
            raise NotConnected(f"{channel!r} has no live connection to push to")
        return peer

    @property
    def _max_event_age(self) -> float:
        return self._config.data_retention_days * 86400.0

    def connection_lost(self, peer: Peer) -> None:
        for channel in sorted(self._channels_of.pop(peer, set())):
            if self._owner.get(channel) is not peer:
                continue
            del self._owner[channel]
            bot = self.bots[channel]
            if bot.status in ALIVE_STATUSES:
                self._transition(bot, BotStatus.DOWN, "connection lost without unregister")

    # -- time ------------------------------------------------------------------------------------

    def reap(self) -> None:
        """Notice vanished local pids where the kernel cannot report them (no pidfd), and apply
        every bot's silence deadline now (which its timer does by itself)."""
        for channel in list(self.bots):
            bot = self.bots[channel]
            unseen = not self._pids.supported and channel not in self._reconnect_deadline
            local = bot.status in ALIVE_STATUSES and bot.host == HOSTNAME
            if local and unseen and not pid_alive(bot.pid):
                self._transition(bot, BotStatus.DOWN, f"pid {bot.pid} is gone")
                continue
            self._threshold(channel)

    # -- views -----------------------------------------------------------------------------------

    def snapshot(self, channel: str | None = None) -> list[BotState]:
        bots = self.bots.values() if channel is None else filter(None, [self.bots.get(channel)])
        return [replace(bot, features=dict(bot.features)) for bot in bots]

    # -- internals -------------------------------------------------------------------------------

    def _attach(self, channel: str, peer: Peer) -> None:
        previous = self._owner.get(channel)
        if previous is not None and previous is not peer:
            self._channels_of.get(previous, set()).discard(channel)
        self._owner[channel] = peer
        self._channels_of.setdefault(peer, set()).add(channel)
        self._reconnect_deadline.pop(channel, None)

    def _detach(self, channel: str) -> None:
        peer = self._owner.pop(channel, None)
        if peer is not None:
            self._channels_of.get(peer, set()).discard(channel)

    def _pid_exited(self, pid: int) -> None:
        for bot in self.bots.values():
            if bot.pid == pid and bot.status in ALIVE_STATUSES:
                self._detach(bot.channel)
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
        self._arm(bot)
        self._save(bot)
        self._event(bot, "status_changed", reason, old=str(old))
        log.info("%s: %s -> %s (%s)", bot.channel, old, new, reason)

    def _save(self, bot: BotState) -> None:
        self._rows.save_bot(bot)
        for listener in self.on_change:
            listener(bot)

    def _event(self, bot: BotState, kind: str, detail: str, *, old: str | None = None) -> None:
        now = self._clock()
        event = FleetEvent(
            ts=now,
            channel=bot.channel,
            kind=kind,
            old_status=old,
            new_status=str(bot.status),
            detail=detail,
        )
        budget = self._budgets.get(bot.channel)
        if budget is None:
            budget = self._budgets[bot.channel] = EventBudget(now)
        suppressed = budget.suppressed
        if budget.take(now):
            if suppressed:
                budget.suppressed = 0
                self._rows.add_event(
                    FleetEvent(
                        ts=now,
                        channel=bot.channel,
                        kind="suppressed",
                        detail=f"{plural(suppressed, 'history row')} not stored (rate limit)",
                    )
                )
            self._rows.add_event(event)
        self._bus.publish(event)
