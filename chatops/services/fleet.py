"""The fleet registry and its status state machine.

    online ──(no heartbeat for heartbeat_interval + late_grace)──▶ late
    late   ──(nothing for stale_timeout)──────────────────────────▶ stale
    any    ──(clean unregister)───────────────────────────────────▶ offline
    alive  ──(connection dropped without unregister, or pid gone)─▶ down   (at once)
    any    ──(register or heartbeat)──────────────────────────────▶ online

After a controller restart the bots the database knew as alive get ``restart_grace`` seconds to
reconnect before they are declared down. Each transition is stored in ``events`` and published
on the bus. Status rows are coalesced in the writer, so a heartbeat costs one metrics row.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import replace

from chatops.bus import EventBus
from chatops.config import MonitoringConfig
from chatops.models import ALIVE_STATUSES, BotState, BotStatus, FleetEvent
from chatops.peer import Peer, is_self_or_descendant
from chatops.pidwatch import PidWatcher, pid_alive
from chatops.protocol import ErrorCode, Heartbeat, ProtocolError, Register, Unregister
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
        *,
        clock: Clock = wall_clock,
    ) -> None:
        self._store = store
        self._bus = bus
        self._config = config
        self._clock = clock
        self.bots: dict[str, BotState] = {}
        self._owner: dict[str, Peer] = {}
        self._channels_of: dict[Peer, set[str]] = {}
        self._reconnect_deadline: dict[str, float] = {}
        self._pids = PidWatcher(self._pid_exited)

    async def start(self) -> None:
        """Load the fleet the database knows and open the reconnect window for live bots."""
        now = self._clock()
        for bot in await self._store.load_bots():
            self.bots[bot.channel] = bot
            if bot.status not in ALIVE_STATUSES:
                continue
            if bot.host in (None, HOSTNAME) and not pid_alive(bot.pid):
                self._transition(bot, BotStatus.DOWN, "process gone while the controller was down")
            else:
                self._reconnect_deadline[bot.channel] = now + self._config.restart_grace

    def close(self) -> None:
        self._pids.close()

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
        bot.registered_at = now
        bot.last_heartbeat = now
        self._attach(msg.channel, peer)
        if peer.local and not self._pids.watch(bot.pid) and not pid_alive(bot.pid):
            log.warning("%s registered pid %d which is not running", msg.channel, bot.pid)
        self._transition(bot, BotStatus.ONLINE, "registered", force_save=True)
        self._event(bot, "registered", f"pid {bot.pid} via {peer.describe()}")
        return {"status": str(bot.status)}

    def heartbeat(self, peer: Peer, msg: Heartbeat) -> None:
        now = self._clock()
        bot = self.bots.get(msg.channel)
        if bot is None:
            # A heartbeat before any register (the monitor restarted and lost nothing, or a
            # minimal client): adopt the bot rather than drop its metrics.
            pid = msg.pid or peer.pid or 0
            bot = BotState(
                channel=msg.channel,
                pid=pid,
                status=BotStatus.OFFLINE,
                registered_at=now,
                last_heartbeat=now,
                status_changed_at=now,
                host=HOSTNAME if peer.local else None,
            )
            self.bots[msg.channel] = bot
            if peer.local and pid:
                self._pids.watch(pid)
        bot.last_heartbeat = now
        if msg.rss_mb is not None:
            bot.rss_mb = msg.rss_mb
        if msg.cpu_pct is not None:
            bot.cpu_pct = msg.cpu_pct
        if self._owner.get(msg.channel) is None:
            self._attach(msg.channel, peer)
        self._store.add_metrics(bot, msg.ts if msg.ts is not None else now)
        if bot.status is not BotStatus.ONLINE:
            self._transition(bot, BotStatus.ONLINE, "heartbeat")
        else:
            self._store.save_bot(bot)

    def unregister(self, peer: Peer, msg: Unregister) -> None:
        bot = self.bots.get(msg.channel)
        if bot is None:
            raise ProtocolError(ErrorCode.NOT_FOUND, f"unknown bot {msg.channel!r}", msg.id)
        self._detach(msg.channel)
        self._pids.unwatch(bot.pid)
        self._transition(bot, BotStatus.OFFLINE, "unregistered")

    def connection_lost(self, peer: Peer) -> None:
        for channel in self._channels_of.pop(peer, set()):
            if self._owner.get(channel) is not peer:
                continue
            del self._owner[channel]
            bot = self.bots[channel]
            if bot.status in ALIVE_STATUSES:
                self._transition(bot, BotStatus.DOWN, "connection lost without unregister")

    # -- time ------------------------------------------------------------------------------------

    def reap(self) -> None:
        """Apply the silence deadlines; cheap enough to run every second."""
        now = self._clock()
        late_after = self._config.heartbeat_interval + self._config.late_grace
        stale_after = self._config.stale_timeout
        for channel, deadline in list(self._reconnect_deadline.items()):
            bot = self.bots[channel]
            if bot.status not in ALIVE_STATUSES or channel in self._owner:
                del self._reconnect_deadline[channel]
            elif now >= deadline:
                del self._reconnect_deadline[channel]
                self._transition(bot, BotStatus.DOWN, "did not reconnect after controller restart")
        for bot in self.bots.values():
            if bot.status not in ALIVE_STATUSES or bot.channel in self._reconnect_deadline:
                continue
            if bot.host == HOSTNAME and not self._pids.supported and not pid_alive(bot.pid):
                self._transition(bot, BotStatus.DOWN, f"pid {bot.pid} is gone")
                continue
            silence = now - bot.last_heartbeat
            if silence >= stale_after and bot.status is not BotStatus.STALE:
                self._transition(bot, BotStatus.STALE, f"no heartbeat for {silence:.0f}s")
            elif silence >= late_after and bot.status is BotStatus.ONLINE:
                self._transition(bot, BotStatus.LATE, f"heartbeat missed ({silence:.0f}s)")

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
                self._store.save_bot(bot)
            return
        bot.status = new
        bot.status_changed_at = self._clock()
        self._store.save_bot(bot)
        self._event(bot, "status_changed", reason, old=str(old))
        log.info("%s: %s -> %s (%s)", bot.channel, old, new, reason)

    def _event(self, bot: BotState, kind: str, detail: str, *, old: str | None = None) -> None:
        event = FleetEvent(
            ts=self._clock(),
            channel=bot.channel,
            kind=kind,
            old_status=old,
            new_status=str(bot.status),
            detail=detail,
        )
        self._store.add_event(event)
        self._bus.publish(event)
