"""Restarting a bot, by hand (``/recover restart``, ``chatops restart``) or by the policy.

By hand, in order: ask the bot over its connection (a ``control`` push ``restart``; the client
library's default handler exits with ``restart_exit_code`` for the bot's own supervisor); else
its ``restart_command`` (no shell, only ``{channel}`` substituted, with a timeout, its output
redacted and truncated); else, for a local bot that does not answer, SIGTERM then SIGKILL
after ``stop_wait``, only to a pid the kernel vouched for at registration and owned by the
controller's user. Then it waits ``restart_wait`` for the bot to register again.

Automatically (``auto_restart``), a bot that goes down is restarted with its
``restart_command`` (or, for a bot chatops started itself, started again) as the
:class:`~.policy.RestartPolicy` says; every restart and its outcome is an event of the bot.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from dataclasses import dataclass

import psutil

from chatops.alerts.model import Severity
from chatops.alerts.router import AlertRouter
from chatops.models import ALIVE_STATUSES, BotState, FleetEvent
from chatops.runtime.bus import EventBus
from chatops.runtime.tasks import TaskSet
from chatops.services.approvals.preview import mask_secrets, truncate
from chatops.services.fleet import HOSTNAME, FleetService
from chatops.services.recovery.config import CHANNEL_FIELD, RecoveryConfig
from chatops.services.recovery.policy import RestartPolicy
from chatops.timeutil import Clock, wall_clock
from chatops.wire.protocol import Control
from chatops.wire.pushes import PushError

log = logging.getLogger(__name__)

OUTPUT_CHARS = 1500


@dataclass(frozen=True, slots=True)
class RestartReport:
    channel: str
    method: str
    """``control``, ``command``, ``signal``, ``spawn`` or ``none``."""
    ok: bool
    detail: str
    old_pid: int | None = None
    new_pid: int | None = None
    output: str = ""
    seconds: float = 0.0


class RestartError(ValueError):
    """A restart that cannot even be tried (unknown bot)."""


class RestartService:
    def __init__(
        self,
        config: RecoveryConfig,
        fleet: FleetService,
        bus: EventBus,
        router: AlertRouter,
        *,
        clock: Clock = wall_clock,
        policy: RestartPolicy | None = None,
    ) -> None:
        self.config = config
        self._fleet = fleet
        self._router = router
        self._clock = clock
        self.policy = policy or RestartPolicy(config)
        self._tasks = TaskSet()
        self._children: dict[str, asyncio.subprocess.Process] = {}
        self._last_auto = 0.0
        self._unsubscribe = bus.subscribe(FleetEvent, self._on_fleet_event)

    async def start(self) -> None:
        """Start the bots chatops runs itself (``command``)."""
        for channel, bot in self.config.bots.items():
            if bot.command is not None:
                await self._spawn(channel)

    async def close(self) -> None:
        self._unsubscribe()
        await self._tasks.cancel()

    # -- by hand ---------------------------------------------------------------------------------

    async def restart(self, channel: str, *, by: str) -> RestartReport:
        bot = self._fleet.bots.get(channel)
        if bot is None and channel not in self.config.bots:
            raise RestartError(f"no bot called {channel!r}")
        self.policy.reset(channel)
        old_pid = bot.pid if bot is not None else None
        before = bot.registered_at if bot is not None else 0.0
        started = time.monotonic()
        method, tried, output = await self._restart_once(channel, by)
        if method == "none":
            report = RestartReport(channel, method, False, tried, old_pid, None, output)
        else:
            back = await self._registered_again(channel, before)
            seconds = time.monotonic() - started
            new_pid = back.pid if back is not None else None
            detail = (
                f"{tried}; registered again as pid {new_pid} after {seconds:.1f}s"
                if back is not None
                else f"{tried}; did not register again within {self.config.restart_wait:g}s"
            )
            report = RestartReport(
                channel, method, back is not None, detail, old_pid, new_pid, output, seconds
            )
        self._record(channel, f"restart by {by} ({report.method}): {report.detail}", report.ok)
        return report

    async def _restart_once(self, channel: str, by: str) -> tuple[str, str, str]:
        """(method, what was done, output) of the first way that worked."""
        asked = await self._ask(channel, by)
        if asked is not None:
            return "control", asked, ""
        own = self.config.for_bot(channel)
        if own.command is not None:
            await self._stop_child(channel)
            await self._spawn(channel)
            return "spawn", "started again by chatops", ""
        if own.restart_command is not None:
            ok, output = await self._run_command(own.restart_command, channel)
            return ("command", "restart_command ran" if ok else "restart_command failed", output)
        signalled = await self._signal(channel)
        if signalled is not None:
            return "signal", signalled, ""
        return "none", "the bot did not answer and has no restart_command or local process", ""

    async def _ask(self, channel: str, by: str) -> str | None:
        try:
            peer = self._fleet.peer_for(channel)
            await peer.ask(
                Control(
                    channel=channel,
                    action="restart",
                    reason=f"asked by {by}"[:500],
                    args={"exit_code": self.config.restart_exit_code},
                ),
                timeout=5.0,
            )
        except PushError as exc:
            log.info("%s: restart by control message not possible (%s)", channel, exc)
            return None
        return "asked over its connection"

    async def _run_command(self, template: list[str], channel: str) -> tuple[bool, str]:
        """Run without a shell; the configured bot name is the only text put into it."""
        argv = [arg.replace(CHANNEL_FIELD, channel) for arg in template]
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            return False, f"could not start {argv[0]}: {exc.strerror or exc}"
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), self.config.command_timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return False, f"timed out after {self.config.command_timeout:g}s"
        text = truncate(mask_secrets(out.decode(errors="replace")), OUTPUT_CHARS)
        return proc.returncode == 0, f"exit {proc.returncode}\n{text}".strip()

    async def _signal(self, channel: str) -> str | None:
        bot = self._fleet.bots.get(channel)
        if bot is None or bot.host not in (None, HOSTNAME) or not self._fleet.vouched(channel):
            return None
        pid = bot.pid
        try:
            process = psutil.Process(pid)
            if process.uids().real != os.getuid() or pid == os.getpid():
                return None
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(process.wait, self.config.stop_wait)
                return f"SIGTERM to pid {pid}"
            except psutil.TimeoutExpired:
                process.kill()
                return f"SIGTERM to pid {pid}, SIGKILL after {self.config.stop_wait:g}s"
        except psutil.NoSuchProcess:
            return f"pid {pid} had already exited"
        except psutil.AccessDenied:
            return None

    async def _registered_again(self, channel: str, before: float) -> BotState | None:
        deadline = time.monotonic() + self.config.restart_wait
        while time.monotonic() < deadline:
            bot = self._fleet.bots.get(channel)
            if bot is not None and bot.registered_at > before and bot.status in ALIVE_STATUSES:
                return bot
            await asyncio.sleep(0.05)
        return None

    # -- the policy ------------------------------------------------------------------------------

    def _on_fleet_event(self, event: FleetEvent) -> None:
        if event.kind != "status_changed":
            return
        channel = event.channel
        if event.new_status == "down" and self.config.auto_restarts(channel):
            if channel in self._children:
                return  # its exit code decides, when the child is reaped
            if self.config.for_bot(channel).restart_command is not None:
                self._decide(channel, None)

    def _decide(self, channel: str, exit_code: int | None) -> None:
        verdict = self.policy.exited(channel, self._clock(), exit_code)
        if verdict.action == "fatal":
            self._record(channel, f"FATAL: {verdict.reason}", False)
            self._router.problem(
                channel,
                "restart",
                state="fatal",
                severity=Severity.CRITICAL,
                detail=f"{channel} keeps exiting: {verdict.reason}",
                ts=self._clock(),
            )
        elif verdict.action == "stop":
            self._record(channel, f"not restarted: {verdict.reason}", True)
        else:
            self._record(channel, f"will restart: {verdict.reason}", True)

    async def tick(self) -> None:
        """Scheduler job: start what the policy says is due, ``spread`` apart."""
        now = self._clock()
        for channel in self.policy.due(now):
            if now - self._last_auto < self.config.spread:
                return
            self._last_auto = now
            self.policy.starting(channel, now)
            self._tasks.spawn(self._auto_restart(channel), name=f"restart:{channel}")

    async def _auto_restart(self, channel: str) -> None:
        own = self.config.for_bot(channel)
        if own.command is not None:
            await self._spawn(channel)
            self._record(channel, "restarted automatically (started again)", True)
            return
        if own.restart_command is not None:
            ok, output = await self._run_command(own.restart_command, channel)
            first = output.splitlines()[0] if output else ""
            self._record(channel, f"restarted automatically: restart_command {first}", ok)
            if ok:
                self._router.resolve(channel, "restart", state="restarted", ts=self._clock())

    # -- bots chatops runs itself ----------------------------------------------------------------

    async def _spawn(self, channel: str) -> None:
        argv = [
            a.replace(CHANNEL_FIELD, channel) for a in self.config.for_bot(channel).command or []
        ]
        try:
            child = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, start_new_session=True
            )
        except OSError as exc:
            self._record(channel, f"could not start: {exc.strerror or exc}", False)
            self._decide(channel, None)
            return
        self._children[channel] = child
        self._tasks.spawn(self._reap(channel, child), name=f"child:{channel}")

    async def _reap(self, channel: str, child: asyncio.subprocess.Process) -> None:
        code = await child.wait()
        if self._children.get(channel) is not child:
            return  # replaced on purpose
        del self._children[channel]
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
