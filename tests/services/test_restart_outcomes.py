"""What a restart reports: it succeeds only when a new process registers (a new pid, or the same
pid on a new connection once the old process is gone, as in a container); the same process
registering again is not a restart, however it arrives; a bot that is gone and has no
``restart_command`` fails at once; ``chatops restart`` prints the outcome and its reason."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import Any

from chatops.client import MonitorClient
from chatops.composition.controller import Controller
from chatops.config.recovery import BotRecovery, RecoveryConfig
from chatops.wire.protocol import Control
from tests.conftest import BOTS, kill_quietly, make_settings, spawn_bot, wait_for
from tests.services.test_recovery import online, recovery_bot
from tests.test_approvals_cli import run_chatops
from tests.test_doctor import write_config


async def test_the_same_process_registering_again_is_not_a_restart(
    workdir: Path, start_controller: Any
) -> None:
    """The load-dependent failure: a late duplicate of the bot's own registration (the client
    registers once itself and once on connecting) landed during the wait and was taken for the
    restarted bot, with the same pid."""
    settings = make_settings(workdir)
    settings.recovery.restart_wait = 1
    ctl: Controller = await start_controller(settings)
    client = MonitorClient(settings.monitoring.socket_path)

    async def register_again(push: Control) -> dict[str, Any]:
        # The same connection registers the same pid again (before answering), and stays.
        assert await client.register_with_monitor("same", os.getpid())
        return {"restarting": True}

    client.on_push("control", register_again)
    try:
        assert await client.register_with_monitor("same", os.getpid())
        report = await ctl.services.restarts.restart("same", by="alice")
        assert report.new_pid is None, report
        assert not report.restarted and report.outcome == "not_back"
        assert f"pid {os.getpid()} registered again but is the same process" in report.reason
        assert report.summary.startswith("did not come back (control): asked over its connection")
    finally:
        await client.close()


async def test_a_reconnect_of_the_same_process_is_not_a_restart_a_new_process_is(
    workdir: Path, start_controller: Any
) -> None:
    """A reconnect of the same process is not a restart: only the new process that registers
    afterwards is."""
    settings = make_settings(workdir)
    settings.recovery.restart_wait = 60  # ended by the new process below, not by the clock
    ctl: Controller = await start_controller(settings)
    socket_path = settings.monitoring.socket_path
    client = MonitorClient(socket_path)
    spare = MonitorClient(socket_path)
    reconnected = asyncio.Event()

    async def reconnect() -> None:
        await client.close()
        assert await spare.register_with_monitor("same", os.getpid())
        reconnected.set()

    def reconnect_as_the_same_process(push: Control) -> dict[str, Any]:
        # A new connection from the same process (after this answer), not a new process.
        asyncio.get_running_loop().create_task(reconnect())
        return {"restarting": True}

    client.on_push("control", reconnect_as_the_same_process)
    newcomer = None
    try:
        assert await client.register_with_monitor("same", os.getpid())
        restart = asyncio.create_task(ctl.services.restarts.restart("same", by="alice"))
        await reconnected.wait()
        await spare.close()
        await wait_for(lambda: ctl.services.fleet.bots["same"].status == "down")
        # Now a process that really is new.
        newcomer = spawn_bot("recovery_bot.py", *recovery_bot(settings, "same")[1:])
        report = await restart
        assert report.restarted and report.new_pid == newcomer.pid, report
        assert f"back as pid {newcomer.pid} (was {os.getpid()})" in report.reason
    finally:
        await client.close()
        await spare.close()
        if newcomer is not None:
            kill_quietly(newcomer)


async def test_the_same_pid_from_a_process_that_really_restarted_is_a_restart(
    workdir: Path, start_controller: Any
) -> None:
    """A bot in a container is pid 1 after every restart: the same pid on a new connection,
    after the old one was seen to go, is the restarted bot."""
    settings = make_settings(workdir, verify_peer_pid=False)
    pidfile = workdir / "boxed.pid"
    container = [str(settings.monitoring.socket_path), "{channel}", "1", "box-1", str(pidfile)]
    settings.recovery = RecoveryConfig(
        bots={
            "boxed": BotRecovery(
                restart_command=[
                    sys.executable,
                    str(BOTS / "container_bot.py"),
                    *container,
                    "--restart",
                ]
            )
        }
    )
    ctl: Controller = await start_controller(settings)
    first = spawn_bot("container_bot.py", *[a.replace("{channel}", "boxed") for a in container])
    try:
        assert await online(ctl, "boxed") == 1
        report = await ctl.services.restarts.restart("boxed", by="alice")
        assert report.restarted and report.method == "command", report
        assert report.old_pid == report.new_pid == 1
        assert "back as pid 1 on a new connection" in report.reason
        assert int(pidfile.read_text()) != first.pid
    finally:
        kill_quietly(first)
        if pidfile.exists():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pidfile.read_text()), signal.SIGKILL)


async def test_a_bot_that_is_gone_without_a_restart_command_fails_at_once(
    workdir: Path, start_controller: Any
) -> None:
    """Nothing can bring it back, so nothing is waited for; the CLI says so (not ``refused:
    None: None``, the report's own ``ok`` clashing with the reply's) and exits 1."""
    settings = make_settings(workdir)
    settings.recovery.restart_wait = 2
    config = write_config(workdir / "c.yaml", settings, recovery={"restart_wait": 2})
    ctl: Controller = await start_controller(settings)
    bot = spawn_bot("recovery_bot.py", *recovery_bot(settings, "gone")[1:])
    try:
        pid = await online(ctl, "gone")
        kill_quietly(bot)
        await wait_for(lambda: ctl.services.fleet.bots["gone"].status == "down")

        code, out, err = await run_chatops(config, "restart", "gone")
        assert code == 1, (out, err)
        assert "None" not in out + err
        assert out.startswith(f"gone: not restarted: its process (pid {pid}) is gone"), out
        assert "no restart_command" in out

        report = await ctl.services.restarts.restart("gone", by="alice")
        assert report.outcome == "not_restarted" and report.method == "none"
        assert report.seconds == 0.0  # it never waited for a registration
        assert report.summary == out.strip().removeprefix("gone: ")
    finally:
        kill_quietly(bot)
