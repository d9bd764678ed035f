"""Restarting a bot, by hand (``/recover restart``, ``chatops restart``) or by the policy.

By hand, in order: ask the bot over its connection (a ``control`` push ``restart``; the client
library's default handler exits with ``restart_exit_code`` for the bot's own supervisor); else
its ``restart_command`` (no shell, only ``{channel}`` substituted, with a timeout, its output
redacted and truncated); else, for a local bot that does not answer, SIGTERM then SIGKILL
after ``stop_wait``, only to a pid the kernel vouched for at registration and owned by the
controller's user. Then it waits ``restart_wait`` for a new process to register (see
:mod:`.attempts`). When nothing can be done (the process is gone and there is no
``restart_command``) it fails at once.

Automatically (``auto_restart``), a bot that goes down is restarted with its
``restart_command`` (or, for a bot chatops started itself, started again) as the
:class:`~.policy.RestartPolicy` says; every restart and its outcome is an event of the bot.
Each bot's wait is a timer keyed ``("restart", channel)`` (:mod:`chatops.runtime.timers`), set
when the policy decides and fired when the wait is over, no sooner than ``spread`` after the
previous automatic restart: nothing polls for what is due.

A restart chatops sets off is announced on the bus (:class:`~chatops.records.fleet.RestartNotice`)
before anything is done and when it ends, so the stop it causes is expected: the fleet's alerts
hold it, and the policy does not restart a bot again that a restart stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from chatops.config.recovery import CHANNEL_FIELD, RecoveryConfig
from chatops.records.fleet import ALIVE_STATUSES, FleetEvent, RestartNotice
from chatops.runtime.bus import EventBus
from chatops.runtime.tasks import TaskSet
from chatops.runtime.timers import Timers
from chatops.services.errors import NotFound
from chatops.services.fleet import FleetService
from chatops.services.recovery import ways
from chatops.services.recovery.attempts import OUTCOME_WORDS, Attempt, RestartReport, start_time
from chatops.services.recovery.events import RestartFatal
from chatops.services.recovery.policy import RestartPolicy
from chatops.services.recovery.ways import Tried
from chatops.timeutil import Clock, wall_clock

log = logging.getLogger(__name__)

__all__ = ["RestartError", "RestartReport", "RestartService"]


class RestartError(NotFound, ValueError):
    """A restart that cannot even be tried (unknown bot)."""


Way = Callable[[str, str], Awaitable[Tried]]
Relay = Callable[[str], Awaitable[RestartReport]]
"""Another host's edge restarts the bot, given who asked: its report."""


class RestartService:
    def __init__(
        self,
        config: RecoveryConfig,
        fleet: FleetService,
        bus: EventBus,
        *,
        clock: Clock = wall_clock,
        policy: RestartPolicy | None = None,
        timers: Timers | None = None,
    ) -> None:
        self.config = config
        self._fleet = fleet
        self._bus = bus
        self._clock = clock
        self.policy = policy or RestartPolicy(config)
        self.timers = timers if timers is not None else Timers(clock)
        self._tasks = TaskSet()
        self._children: dict[str, asyncio.subprocess.Process] = {}
        self._attempts: dict[str, Attempt] = {}
        self._last_auto = 0.0
        self._unsubscribe = bus.subscribe(FleetEvent, self._on_fleet_event)
        self.relay: Callable[[str], Relay | None] | None = None
        """On a hub: how to have another host's edge restart one of its bots (None: local)."""

    async def start(self) -> None:
        """Start the bots chatops runs itself (``command``)."""
        for channel, bot in self.config.bots.items():
            if bot.command is not None:
                error = await self._spawn(channel)
                if error is not None:
                    self._record(channel, error, False)
                    self._decide(channel, None)

    async def close(self) -> None:
        self._unsubscribe()
        for channel in self.policy.bots:
            self.timers.cancel(("restart", channel))
        await self._tasks.cancel()

    def restarting(self, channel: str) -> bool:
        """True while a restart chatops set off for ``channel`` is under way."""
        return channel in self._attempts

    # -- by hand ---------------------------------------------------------------------------------

    def require_known(self, channel: str) -> None:
        """Raise :class:`RestartError` (a :class:`~chatops.services.errors.NotFound`) unless
        ``channel`` is a bot the fleet knows or the recovery config names: what a restart needs
        to be tried at all. A door asks before it confirms; :meth:`restart` asks again."""
        if channel not in self._fleet.bots and channel not in self.config.bots:
            elsewhere = sorted(name for name in self._fleet.bots if name.endswith("/" + channel))
            hint = f" (other hosts have {', '.join(elsewhere[:5])})" if elsewhere else ""
            raise RestartError(f"No bot called {channel!r}{hint}")

    async def restart(self, channel: str, *, by: str) -> RestartReport:
        self.require_known(channel)
        under_way = self._attempts.get(channel)
        if under_way is not None:
            reason = f"a restart of it is already under way (by {under_way.by})"
            return RestartReport(channel, "not_restarted", "none", reason, under_way.old_pid)
        relay = self.relay(channel) if self.relay is not None else None
        if relay is not None:
            return await self._relayed(channel, by, relay)
        self.policy.reset(channel)
        self.timers.cancel(("restart", channel))  # a wait the policy had is over
        report = await self._attempt(channel, by, self._restart_once, announce=True)
        self._record(channel, f"restart by {by}: {report.summary}", report.restarted)
        return report

    async def _relayed(self, channel: str, by: str, relay: Relay) -> RestartReport:
        """Its edge restarts it; announced here too, so the hub's alerts hold the stop."""
        longest = self.config.stop_wait + self.config.restart_wait + self.config.command_timeout
        now = self._clock()
        self._bus.publish(
            RestartNotice(now, channel, "restarting", f"by {by}", longest + 15.0, announce=True)
        )
        report: RestartReport | None = None
        try:
            report = await relay(by)
            if report.restarted and report.new_pid is not None:
                await ways.mirrored(self._fleet, channel, report.new_pid, longest)
            return report
        finally:
            self._bus.publish(self._end_notice(channel, by, report, True))

    async def _restart_once(self, channel: str, by: str) -> Tried:
        """The first way that worked, or why none did."""
        asked, not_asked = await ways.ask(self._fleet, channel, by, self.config.restart_exit_code)
        if asked:
            return Tried("control", "asked over its connection")
        own = self.config.for_bot(channel)
        if own.command is not None:
            await self._stop_child(channel)
            error = await self._spawn(channel)
            return Tried("spawn", error or "started again by chatops", ok=error is None)
        if own.restart_command is not None:
            return await ways.command(own.restart_command, channel, self.config.command_timeout)
        signalled, not_signalled = await ways.signal_local(
            self._fleet, channel, self.config.stop_wait
        )
        if signalled is not None:
            return Tried("signal", signalled)
        why = f"{not_signalled}; it has no restart_command and {not_asked}"
        return Tried("none", why, ok=False)

    # -- one restart, by whoever -----------------------------------------------------------------

    async def _attempt(self, channel: str, by: str, way: Way, *, announce: bool) -> RestartReport:
        """Announce the restart, try ``way``, wait for a new process; the end is announced
        whatever happens, so a held stop is never lost."""
        attempt = self._begin(channel, by)
        longest = ways.ASK_TIMEOUT + self.config.command_timeout + self.config.stop_wait
        self._bus.publish(
            RestartNotice(
                self._clock(),
                channel,
                "restarting",
                f"by {by}",
                expect_for=longest + self.config.restart_wait + 5.0,
                announce=announce,
            )
        )
        started = time.monotonic()
        report: RestartReport | None = None
        try:
            tried = await way(channel, by)
            report = await self._outcome(channel, attempt, tried, started)
            return report
        finally:
            if self._attempts.get(channel) is attempt:
                del self._attempts[channel]
            # Back (``restarted``), a FATAL left by the policy is over too: its alert ends.
            self._bus.publish(self._end_notice(channel, by, report, announce))
            if report is None or not report.restarted:
                self._left_down(channel, attempt.exit_code)

    def _begin(self, channel: str, by: str) -> Attempt:
        bot = self._fleet.bots.get(channel)
        local = bot is None or self._fleet.is_local(bot)
        old_pid = bot.pid if bot is not None else None
        if bot is None:
            stopped: str | None = "it was not registered"
        elif bot.status in ALIVE_STATUSES:
            stopped = None
        else:
            stopped = f"it was {bot.status} already"
        attempt = Attempt(
            by=by,
            old_pid=old_pid,
            old_start=start_time(old_pid) if local else None,
            local=local,
            stopped=stopped,
            began=self._clock(),
            child=self._children.get(channel),
        )
        self._attempts[channel] = attempt
        return attempt

    async def _outcome(
        self, channel: str, attempt: Attempt, tried: Tried, started: float
    ) -> RestartReport:
        old, method, output = attempt.old_pid, tried.method, tried.output
        if not tried.ok:
            return RestartReport(channel, "not_restarted", method, tried.what, old, None, output)
        wait = self.config.restart_wait
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(attempt.done.wait(), wait)
        seconds = time.monotonic() - started
        pid = attempt.back_pid
        if pid is not None:
            was = " on a new connection" if pid == old else "" if old is None else f" (was {old})"
            reason = f"{tried.what}; back as pid {pid}{was} after {seconds:.1f}s"
            return RestartReport(channel, "restarted", method, reason, old, pid, output, seconds)
        bot = self._fleet.bots.get(channel)
        alive = bot is not None and bot.status in ALIVE_STATUSES
        if bot is not None and alive and bot.pid == old and bot.registered_at > attempt.began:
            attempt.same_process = attempt.same_process or bot.pid  # not even announced
        reason = f"{tried.what}; {attempt.why_not_back(wait, alive)}"
        return RestartReport(channel, "not_back", method, reason, old, None, output, seconds)

    def _end_notice(
        self, channel: str, by: str, report: RestartReport | None, announce: bool
    ) -> RestartNotice:
        now = self._clock()
        if report is None:
            return RestartNotice(now, channel, "not_back", f"a restart by {by} broke off")
        how = "" if report.method == "none" else f" ({report.method})"
        detail = f"by {by}{how}: {report.reason}"
        if not report.restarted:
            detail = f"{OUTCOME_WORDS[report.outcome]} after a restart {detail}"
        return RestartNotice(now, channel, report.outcome, detail, announce=announce)

    def _left_down(self, channel: str, exit_code: int | None) -> None:
        """A restart that did not bring the bot back hands it to the policy, as its stop would
        have if nobody had asked for it."""
        bot = self._fleet.bots.get(channel)
        if bot is None or bot.status in ALIVE_STATUSES or not self.config.auto_restarts(channel):
            return
        if channel in self._children:
            return  # it runs: its exit decides
        own = self.config.for_bot(channel)
        if own.command is not None or own.restart_command is not None:
            self._decide(channel, exit_code)

    # -- the policy ------------------------------------------------------------------------------

    def _on_fleet_event(self, event: FleetEvent) -> None:
        channel = event.channel
        attempt = self._attempts.get(channel)
        if attempt is not None:
            # The stop a restart causes is expected: its outcome decides, not the policy.
            if event.kind == "registered":
                bot = self._fleet.bots.get(channel)
                if bot is not None:
                    attempt.saw_registration(bot.pid)
            elif event.kind == "status_changed" and event.new_status not in ALIVE_STATUSES:
                attempt.saw_stop(event.detail or str(event.new_status))
            return
        if event.kind != "status_changed":
            return
        if event.new_status == "down" and self.config.auto_restarts(channel):
            if channel in self._children:
                return  # its exit code decides, when the child is reaped
            if self.config.for_bot(channel).restart_command is not None:
                self._decide(channel, None)

    def _decide(self, channel: str, exit_code: int | None) -> None:
        verdict = self.policy.exited(channel, self._clock(), exit_code)
        if verdict.at is not None:
            self._wake_at(channel, verdict.at)
        if verdict.action == "fatal":
            self._record(channel, f"FATAL: {verdict.reason}", False)
            self._bus.publish(RestartFatal(self._clock(), channel, verdict.reason))
        elif verdict.action == "stop":
            self._record(channel, f"not restarted: {verdict.reason}", True)
        else:
            self._record(channel, f"will restart: {verdict.reason}", True)

    def _wake_at(self, channel: str, when: float) -> None:
        self.timers.schedule(("restart", channel), when, lambda: self._due(channel))

    def _due(self, channel: str) -> None:
        """A bot's wait is over: restart it, unless the previous automatic restart was less
        than ``spread`` ago (then it waits that long; bots due together go soonest first)."""
        state = self.policy.bots.get(channel)
        if state is None or state.state not in ("backoff", "fatal") or state.next_at is None:
            return  # reset by hand, or started meanwhile
        now = self._clock()
        if state.next_at > now:
            self._wake_at(channel, state.next_at)
            return
        if now - self._last_auto < self.config.spread:
            self._wake_at(channel, self._last_auto + self.config.spread)
            return
        self._last_auto = now
        self.policy.starting(channel, now)
        self._tasks.spawn(self._auto_restart(channel), name=f"restart:{channel}")

    async def _auto_restart(self, channel: str) -> None:
        if channel in self._attempts:
            self._record(channel, "automatic restart skipped: a restart is under way", True)
            return
        report = await self._attempt(channel, "the restart policy", self._auto_way, announce=False)
        self._record(channel, f"automatic restart: {report.summary}", report.restarted)

    async def _auto_way(self, channel: str, by: str) -> Tried:
        own = self.config.for_bot(channel)
        if own.command is not None:
            error = await self._spawn(channel)
            return Tried("spawn", error or "started again by chatops", ok=error is None)
        if own.restart_command is not None:
            return await ways.command(own.restart_command, channel, self.config.command_timeout)
        return Tried("none", "it has no command or restart_command", ok=False)

    # -- bots chatops runs itself ----------------------------------------------------------------

    async def _spawn(self, channel: str) -> str | None:
        """Start the bot's ``command`` as a child; why it could not, or None."""
        argv = [
            a.replace(CHANNEL_FIELD, channel) for a in self.config.for_bot(channel).command or []
        ]
        try:
            child = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, start_new_session=True
            )
        except OSError as exc:
            return f"could not start: {exc.strerror or exc}"
        self._children[channel] = child
        self._tasks.spawn(self._reap(channel, child), name=f"child:{channel}")
        return None

    async def _reap(self, channel: str, child: asyncio.subprocess.Process) -> None:
        code = await child.wait()
        if self._children.get(channel) is not child:
            return  # replaced on purpose
        del self._children[channel]
        attempt = self._attempts.get(channel)
        if attempt is not None and child is attempt.child:
            # The stop the restart asked for (a control message): start it again at once.
            self._record(channel, f"exited with {code} when asked to restart", True)
            error = await self._spawn(channel)
            if error is not None:
                attempt.fail(error)
            return
        if attempt is not None:
            self._record(channel, f"exited with {code} before registering", False)
            attempt.fail(f"it exited with {code} before registering", code)
            return  # the attempt's end hands it to the policy
        self._record(channel, f"exited with {code}", code == 0)
        if self.config.auto_restarts(channel):
            self._decide(channel, code)

    async def _stop_child(self, channel: str) -> None:
        child = self._children.pop(channel, None)
        if child is None or child.returncode is not None:
            return
        child.terminate()
        try:
            await asyncio.wait_for(child.wait(), self.config.stop_wait)
        except TimeoutError:
            child.kill()
            await child.wait()

    def _record(self, channel: str, detail: str, ok: bool) -> None:
        (log.info if ok else log.warning)("%s: %s", channel, detail)
        self._fleet.record(channel, "restart", detail)
