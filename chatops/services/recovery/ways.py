"""The ways a restart can be done, each saying what it did or why it could not: ask the bot over
its connection, run its ``restart_command``, signal its local process. Kept apart from
:mod:`.restarts`, which chooses between them and waits for the outcome."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from dataclasses import dataclass

import psutil

from chatops.config.recovery import CHANNEL_FIELD
from chatops.records.fleet import ALIVE_STATUSES, BotState
from chatops.services.approvals.preview import mask_secrets, truncate
from chatops.services.callers import LinkError
from chatops.services.fleet import FleetService

log = logging.getLogger(__name__)

OUTPUT_CHARS = 1500
ASK_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Tried:
    """What one way of restarting did; ``ok`` False means nothing is worth waiting for."""

    method: str
    """``control``, ``command``, ``signal``, ``spawn`` or ``none``."""
    what: str
    """What was done, or why nothing could be: the start of the report's reason."""
    ok: bool = True
    output: str = ""


async def ask(fleet: FleetService, channel: str, by: str, exit_code: int) -> tuple[bool, str]:
    """The ``control`` push ``restart``: (asked, why it could not be)."""
    try:
        await fleet.ownership.link_for(channel).ask(
            channel,
            "restart",
            reason=f"asked by {by}"[:500],
            args={"exit_code": exit_code},
            timeout=ASK_TIMEOUT,
        )
    except LinkError as exc:
        log.info("%s: restart by control message not possible (%s)", channel, exc)
        return False, f"could not be asked over a connection ({exc})"
    return True, ""


async def command(template: list[str], channel: str, timeout: float) -> Tried:
    """The bot's ``restart_command``; a failed one is not worth waiting for."""
    ok, output = await run_command(template, channel, timeout)
    if ok:
        return Tried("command", "restart_command ran", output=output)
    first = output.splitlines()[0] if output else "no output"
    return Tried("command", f"restart_command failed ({first})", ok=False, output=output)


async def run_command(template: list[str], channel: str, timeout: float) -> tuple[bool, str]:
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
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return False, f"timed out after {timeout:g}s"
    text = truncate(mask_secrets(out.decode(errors="replace")), OUTPUT_CHARS)
    return proc.returncode == 0, f"exit {proc.returncode}\n{text}".strip()


async def signal_local(
    fleet: FleetService, channel: str, stop_wait: float
) -> tuple[str | None, str]:
    """SIGTERM, then SIGKILL after ``stop_wait``, only to a local pid the kernel vouched for
    and owned by chatops's user: (what was done, or None with why not). A process that is gone
    already is not signalled: nothing was done, so nothing is waited for."""
    bot = fleet.bots.get(channel)
    if bot is None:
        return None, "it has never registered"
    if not fleet.is_local(bot):
        return None, f"it runs on {bot.host}, where chatops cannot signal it"
    pid = bot.pid
    if not fleet.ownership.vouched(channel):
        if not psutil.pid_exists(pid):
            return None, f"its process (pid {pid}) is gone"
        return None, (
            f"pid {pid} was not vouched for by the kernel since this controller started, so it "
            "is never signalled"
        )
    try:
        process = psutil.Process(pid)
        if process.uids().real != os.getuid() or pid == os.getpid():
            return None, f"pid {pid} is not a process of chatops's user that it may signal"
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, stop_wait)
            return f"SIGTERM to pid {pid}", ""
        except psutil.TimeoutExpired:
            process.kill()
            return f"SIGTERM to pid {pid}, SIGKILL after {stop_wait:g}s", ""
    except psutil.NoSuchProcess:
        return None, f"its process (pid {pid}) is gone"
    except psutil.AccessDenied:
        return None, f"pid {pid} may not be signalled (access denied)"


async def mirrored(fleet: FleetService, channel: str, pid: int, timeout: float) -> None:
    """Wait (at most ``timeout``) until ``channel`` is alive as ``pid`` in this fleet: after
    another host's edge restarted it, until its own events (the stop, the new process) have
    arrived, so the restart's end never comes before the stop it explains."""
    back = asyncio.Event()

    def seen(bot: BotState) -> None:
        if bot.channel == channel and bot.pid == pid and bot.status in ALIVE_STATUSES:
            back.set()

    bot = fleet.bots.get(channel)
    if bot is not None:
        seen(bot)
    fleet.on_change.append(seen)
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(back.wait(), timeout)
    finally:
        fleet.on_change.remove(seen)
