"""A restart chatops asked for pages nobody: the stop it causes is expected, so it sends one info
"restarted" alert when the bot comes back, and a critical down only when the bot has not come
back within ``restart_wait``; the restart policy leaves alone a bot that such a restart stopped;
a crash that made the policy restart a bot still alerts as before. Real bot processes, a real
controller, alerts as a sink receives them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from chatops.composition.controller import Controller
from chatops.config.recovery import BotRecovery, RecoveryConfig
from chatops.records.alerts import Severity
from chatops.records.fleet import FleetEvent
from tests.conftest import BOTS, RecordingSink, kill_quietly, make_settings, spawn_bot, wait_for
from tests.services.test_recovery import kill_bot, online, recovery_bot


async def delivered(ctl: Controller, sink: RecordingSink, bot: str) -> list[tuple[str, str]]:
    await ctl.store.flush()
    await wait_for(lambda: not ctl.services.delivery.pending, timeout=10)
    return [(a.kind, str(a.severity)) for a in sink.alerts if a.subject == bot]


async def test_a_restart_asked_for_sends_one_info_alert(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir)
    settings.alerts.flapping_transitions = 3  # two restarts would be "flapping" if they counted
    sink = RecordingSink()
    ctl: Controller = await start_controller(settings, sinks=[sink])
    supervisor = spawn_bot("supervised.py", *recovery_bot(settings, "kissbot"))
    try:
        await online(ctl, "kissbot")
        for _ in range(2):
            report = await ctl.services.restarts.restart("kissbot", by="alice")
            assert report.new_pid is not None, report
        assert await delivered(ctl, sink, "kissbot") == [("restarted", Severity.INFO)] * 2
        assert sink.alerts[-1].title == "kissbot was restarted"
        assert sink.alerts[-1].body.startswith("by alice (control): asked over its connection")
        assert ctl.services.alerts.incidents == {}
    finally:
        kill_bot(ctl, "kissbot")
        kill_quietly(supervisor)


async def test_a_bot_that_does_not_come_back_pages_once_after_the_wait(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir)
    settings.recovery.restart_wait = 1
    sink = RecordingSink()
    ctl: Controller = await start_controller(settings, sinks=[sink])
    incidents = ctl.services.alerts.incidents
    open_when_it_stopped: list[bool] = []

    def on_event(event: FleetEvent) -> None:
        if (event.channel, event.kind, event.new_status) == ("lonely", "status_changed", "down"):
            open_when_it_stopped.append(("lonely", "down") in incidents)

    unsubscribe = ctl.services.bus.subscribe(FleetEvent, on_event)
    # No supervisor, and it refuses to be asked: stopped by a signal (the stop is seen before
    # the wait begins), nothing starts it again.
    bot = spawn_bot("recovery_bot.py", *recovery_bot(settings, "lonely", "stubborn")[1:])
    try:
        pid = await online(ctl, "lonely")
        report = await ctl.services.restarts.restart("lonely", by="alice")
        assert report.new_pid is None, report
        assert open_when_it_stopped == [False]  # the stop it asked for was expected
        assert await delivered(ctl, sink, "lonely") == [("down", Severity.CRITICAL)]
        body = sink.alerts[-1].body
        why, _, restart = body.partition("\n")  # why it stopped, then the restart's story
        assert why in ("connection lost without unregister", f"pid {pid} exited"), body
        assert restart.startswith("did not come back after a restart by alice (signal)")
        assert restart.endswith("and did not register again within 1s")
        assert incidents[("lonely", "down")].severity == Severity.CRITICAL
    finally:
        unsubscribe()
        kill_quietly(bot)


async def test_the_policy_leaves_alone_a_bot_a_restart_stopped(
    workdir: Path, start_controller: Any
) -> None:
    """With ``auto_restart`` and a ``restart_command``, the stop of a restart by control message
    used to make the policy run the command too: a second restart, and a "down" for it."""
    settings = make_settings(workdir)
    launch = [
        sys.executable,
        str(BOTS / "launch_bot.py"),
        str(settings.monitoring.socket_path),
        "{channel}",
    ]
    settings.recovery = RecoveryConfig(
        auto_restart=True, bots={"kissbot": BotRecovery(restart_command=launch)}
    )
    sink = RecordingSink()
    ctl: Controller = await start_controller(settings, sinks=[sink])
    supervisor = spawn_bot("supervised.py", *recovery_bot(settings, "kissbot"))
    try:
        await online(ctl, "kissbot")
        report = await ctl.services.restarts.restart("kissbot", by="alice")
        assert report.new_pid is not None and report.method == "control", report
        await ctl.store.flush()
        events = await ctl.store.fleet.recent_events("kissbot", limit=20)
        assert not any("will restart" in (e.detail or "") for e in events)
        assert "kissbot" not in ctl.services.restarts.policy.bots
        assert await delivered(ctl, sink, "kissbot") == [("restarted", Severity.INFO)]
    finally:
        kill_bot(ctl, "kissbot")
        kill_quietly(supervisor)


async def test_a_crash_the_policy_restarts_still_alerts(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir)
    marker = workdir / "crashed.marker"
    command = [sys.executable, *recovery_bot(settings, "{channel}", "exit", "3", str(marker))]
    settings.recovery = RecoveryConfig(
        auto_restart=True, spread=0, bots={"crasher": BotRecovery(command=command)}
    )
    sink = RecordingSink()
    ctl: Controller = await start_controller(settings, sinks=[sink])
    try:
        first = await online(ctl, "crasher")
        await wait_for(marker.exists)

        def came_back() -> bool:
            bot = ctl.services.fleet.bots["crasher"]
            return bot.pid != first and bot.status == "online"

        await wait_for(came_back, timeout=30)
        # The policy's own restart is over once the bot registered: nothing more is held.
        await wait_for(lambda: not ctl.services.restarts.restarting("crasher"))
        assert await delivered(ctl, sink, "crasher") == [
            ("down", Severity.CRITICAL),
            ("recovered", Severity.RESOLVED),
        ]
    finally:
        kill_bot(ctl, "crasher")
