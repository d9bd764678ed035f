"""A hub's view of its edges: other hosts' bots mirrored into the fleet, and hosts that go away.

Each edge supervises its own bots (their silence, their pids, their restarts); the hub believes
what it reports, in the edge's own order: a report older than the one it holds for a bot
(``changed_at``) is ignored, so an event replayed after a partition never undoes a newer state.
The edge's door (:mod:`chatops.nats`) calls this service with plain values; every host is one
:class:`~chatops.services.callers.Caller` whose link carries the hub's commands to that edge,
so ownership, restarts and approvals treat a host like any connection.

A host that says nothing for ``host_timeout`` is down: one :class:`HostDown` on the bus (one
``host_down`` incident naming its bots), and its bots are ``unreachable`` rather than each one
down. Its next word is :class:`HostUp`, and its bots take the states it reports.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chatops.records.fleet import BotState, BotStatus
from chatops.records.hosts import BotReport, RemoteCacheEntry, qualified, split_qualified
from chatops.runtime.bus import EventBus
from chatops.runtime.timers import Timers
from chatops.services.callers import AgentLink, Caller, LinkError, NotConnected
from chatops.services.errors import Invalid, NotFound
from chatops.services.fleet import FleetService
from chatops.services.recovery.attempts import RestartReport
from chatops.services.recovery.restarts import Relay
from chatops.timeutil import Clock

log = logging.getLogger(__name__)

RESTART_FIELDS = ("outcome", "method", "reason", "old_pid", "new_pid", "output", "seconds")


@dataclass(frozen=True, slots=True)
class HostDown:
    """An edge stopped answering: its bots are unreachable, not known to be down."""

    ts: float
    host: str
    bots: tuple[str, ...]
    """The bare names of the bots it was supervising."""
    reason: str


@dataclass(frozen=True, slots=True)
class HostUp:
    ts: float
    host: str
    down_for: float


@dataclass(slots=True, eq=False)
class _Host:
    name: str
    caller: Caller
    last_seen: float
    down: bool = False
    down_since: float = 0.0
    synced: bool = False
    """The hub has had the host's full list since it last heard from it after a silence (or
    since the hub started)."""
    seen: dict[str, float] = field(default_factory=dict)
    """A bot's bare name -> ``changed_at`` of the newest report taken in."""


class HostsService:
    def __init__(
        self,
        fleet: FleetService,
        bus: EventBus,
        timers: Timers,
        *,
        host_timeout: float,
        restart_timeout: float,
        clock: Clock,
    ) -> None:
        self._fleet = fleet
        self._bus = bus
        self._timers = timers
        self._clock = clock
        self.host_timeout = host_timeout
        self.restart_timeout = restart_timeout
        self.hosts: dict[str, _Host] = {}
        self._channels: dict[str, set[str]] = {}
        """Each host's bots by the hub's name: a host's resync or silence touches its own
        bots, never a walk of a 100,000-bot fleet."""
        fleet.on_remove.append(self._removed)
        self.caches: dict[str, dict[str, RemoteCacheEntry]] = {}
        """Each host's cache index (the folders stay there), rebuilt by every resync."""
        self.link_for: Callable[[str], AgentLink] | None = None
        """The edge door's link to a host (set when the door starts)."""
        fleet.hub = True

    def start(self) -> None:
        """Hosts known from the database: each gets ``host_timeout`` to be heard from again, or
        is down. What each last reported is not known in this life (the stored status times
        are the hub's clock, not the edge's): the host's resync sets it."""
        now = self._clock()
        for channel in self._fleet.bots:
            host, _ = split_qualified(channel)
            if host is not None:
                self._host(host, now)
                self._channels.setdefault(host, set()).add(channel)

    def close(self) -> None:
        for host in self.hosts:
            self._timers.cancel(("host", host))

    # -- what edges say --------------------------------------------------------------------------

    def heard(self, host: str) -> _Host:
        """Any word from ``host``: it is up (again), and its deadline moves."""
        now = self._clock()
        known = self._host(host, now)
        known.last_seen = now
        self._arm(known)
        if known.down:
            known.down = False
            log.info("host %s is back after %.0fs", host, now - known.down_since)
            self._bus.publish(HostUp(now, host, now - known.down_since))
        return known

    def report(self, host: str, report: BotReport, *, full: bool = False) -> bool:
        """Mirror one bot as ``host`` reports it; False when the report is older than what the
        hub holds (a replay). ``full``: the host's answer to a resync, which wins over an
        ``unreachable`` the hub set itself."""
        known = self.heard(host)
        if not report.name or "/" in report.name:
            raise Invalid(f"{host} reported a bot with no valid name ({report.name!r})")
        newest = known.seen.get(report.name)
        channel = qualified(host, report.name)
        bot = self._fleet.bots.get(channel)
        unreachable = bot is not None and bot.status is BotStatus.UNREACHABLE
        if newest is not None and report.changed_at < newest and not (full and unreachable):
            return False
        known.seen[report.name] = report.changed_at
        try:
            status = BotStatus(report.status)
        except ValueError:
            raise Invalid(f"{host} reported {report.name} as {report.status!r}") from None
        if bot is None:
            bot = BotState(
                channel=channel,
                pid=report.pid,
                status=BotStatus.OFFLINE,
                registered_at=report.registered_at,
                last_heartbeat=report.last_heartbeat,
                status_changed_at=report.changed_at,
            )
            self._channels.setdefault(host, set()).add(channel)
        bot.pid, bot.uid, bot.host = report.pid, report.uid, host
        bot.registered_at, bot.last_heartbeat = report.registered_at, report.last_heartbeat
        bot.rss_mb, bot.cpu_pct = report.rss_mb, report.cpu_pct
        if report.features != bot.features:
            bot.set_features(report.features)
        self._fleet.ownership.remember(channel, report.pid, local=False)
        self._fleet.ownership.adopt(known.caller, channel)
        self._fleet.mirror(bot, status, report.reason or f"reported by {host}")
        return True

    def beat(self, host: str, bots: list[BotReport]) -> int:
        """A host's periodic word: the bots that changed since its last. Returns how many
        were taken in."""
        self.heard(host)
        return sum(self.report(host, bot) for bot in bots)

    def needs_resync(self, host: str) -> bool:
        """True until the hub has the full list of ``host``'s bots: after the hub starts, and
        after a silence (what changed meanwhile may be older than what the hub set)."""
        known = self.hosts.get(host)
        return known is None or not known.synced

    def resync(self, host: str, bots: list[BotReport]) -> None:
        """``host``'s full list: every bot as it is now; a bot the hub knows that is not in it
        left that host's fleet while the hub was not told (the edge forgot it)."""
        known = self.heard(host)
        listed = {bot.name for bot in bots}
        for bot in bots:
            self.report(host, bot, full=True)
        for channel in self.bots_of(host):
            name = split_qualified(channel)[1]
            state = self._fleet.bots[channel]
            if name not in listed and state.status is not BotStatus.OFFLINE:
                self._fleet.mirror(state, BotStatus.OFFLINE, f"no longer supervised by {host}")
        known.synced = True

    def cache_indexed(self, host: str, task_id: str, entry: RemoteCacheEntry | None) -> None:
        index = self.caches.setdefault(host, {})
        if entry is None:
            index.pop(task_id, None)
        else:
            index[task_id] = entry

    def cache_listed(self, host: str, entries: list[RemoteCacheEntry]) -> None:
        """``host``'s whole index (a resync): what the hub held of it is replaced."""
        self.caches[host] = {entry.task_id: entry for entry in entries}

    def cache_by_host(self) -> dict[str, tuple[int, int]]:
        """Each host's cache: entries and bytes."""
        return {
            host: (len(index), sum(entry.size for entry in index.values()))
            for host, index in sorted(self.caches.items())
        }

    async def cache_command(
        self, host: str, action: str, args: dict[str, Any], *, by: str
    ) -> dict[str, Any]:
        """A cache plan or clean on ``host``, done by its edge: its answer, as its own socket
        would give it (:class:`~chatops.services.callers.LinkError` when it cannot answer)."""
        if host not in self.hosts:
            raise NotFound(f"no host called {host!r}")
        return await self._link(host).ask("", action, reason=by, args=args, timeout=60.0)

    # -- names -----------------------------------------------------------------------------------

    def bots_of(self, host: str) -> list[str]:
        """The hub's channels for the bots ``host`` supervises."""
        return sorted(self._channels.get(host, ()))

    def bots_by_host(self) -> Counter[str]:
        """How many bots each host supervises."""
        return Counter({host: len(channels) for host, channels in self._channels.items()})

    def _removed(self, channel: str) -> None:
        host, _ = split_qualified(channel)
        if host is not None:
            self._channels.get(host, set()).discard(channel)

    def caller(self, host: str) -> Caller:
        """The caller a host speaks as (its usage, its approvals)."""
        return self.heard(host).caller

    def remote_link(self, channel: str) -> AgentLink | None:
        """The link to the edge that supervises ``channel``, None for a local bot."""
        host, _ = split_qualified(channel)
        if host is None or self.link_for is None:
            return None
        return self.link_for(host)

    # -- internals -------------------------------------------------------------------------------

    def _host(self, host: str, now: float) -> _Host:
        known = self.hosts.get(host)
        if known is None:
            link = self.link_for(host) if self.link_for is not None else None
            known = self.hosts[host] = _Host(
                host, Caller(pid=None, uid=None, local=False, link=link), now
            )
            self._arm(known)
        return known

    def _arm(self, known: _Host) -> None:
        name = known.name
        self._timers.schedule(
            ("host", name), known.last_seen + self.host_timeout, lambda: self._silent(name)
        )

    def revoked(self, host: str) -> int:
        """``host``'s credential was revoked (NATS cut it off): down now, not after its
        silence. How many of its bots are unreachable; 0 for a host the hub never heard."""
        known = self.hosts.get(host)
        if known is None:
            return 0
        if not known.down:
            self._down(known, "its NATS credential was revoked")
        return len(self.bots_of(host))

    def _silent(self, host: str) -> None:
        known = self.hosts.get(host)
        now = self._clock()
        if known is None or known.down:
            return
        if now < known.last_seen + self.host_timeout:
            self._arm(known)
            return
        self._down(known, f"no word from its edge for {now - known.last_seen:.0f}s")

    def _down(self, known: _Host, reason: str) -> None:
        host, now = known.name, self._clock()
        self._timers.cancel(("host", host))
        known.down, known.down_since, known.synced = True, now, False
        names = []
        for channel in self.bots_of(host):
            bot = self._fleet.bots[channel]
            names.append(split_qualified(channel)[1])
            if bot.status not in (BotStatus.OFFLINE, BotStatus.DOWN):  # known, and alerted
                self._fleet.mirror(bot, BotStatus.UNREACHABLE, f"host {host} unreachable")
        log.warning("host %s is down: %s (%d bots)", host, reason, len(names))
        self._bus.publish(HostDown(now, host, tuple(names), reason))

    def restart_relay(self, channel: str) -> Relay | None:
        """How the hub restarts ``channel`` when another host supervises it: that host's edge
        does, and answers with its report (None for a local bot)."""
        host, name = split_qualified(channel)
        if host is None:
            return None

        async def relay(by: str) -> RestartReport:
            try:
                link = self._link(host)
                data = await link.ask(name, "restart", reason=by, timeout=self.restart_timeout)
                fields = {key: data[key] for key in RESTART_FIELDS if key in data}
                return RestartReport(**{**fields, "channel": channel})
            except (LinkError, TypeError) as exc:
                why = f"its host {host} did not restart it: {exc}"
                return RestartReport(channel, "not_restarted", "none", why)

        return relay

    def _link(self, host: str) -> AgentLink:
        known = self.hosts.get(host)
        link = None if known is None else known.caller.link
        if link is None or known is None or known.down:
            raise NotConnected(f"host {host} is unreachable")
        return link
