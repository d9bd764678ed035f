"""Restarts: by control message (a supervised bot comes back with a new pid), by
``restart_command``, by the signal fallback, and automatically (a child chatops started that
exits is started again, unless it exits with the don't-restart code); the policy's backoff with
jitter, FATAL after the limit and its later retry, on the injected clock."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from chatops.composition.controller import Controller
from chatops.config import Settings
from chatops.config.recovery import BotRecovery, RecoveryConfig
from chatops.services.recovery.policy import RestartPolicy
from tests.conftest import BOTS, kill_quietly, make_settings, spawn_bot, wait_for

FORGER = """
import json, socket, sys, time
sock = socket.socket(socket.AF_UNIX)
sock.connect(sys.argv[1])
sock.sendall(json.dumps({"id": 1, "type": "register", "channel": "claimed",
                         "pid": int(sys.argv[2])}).encode() + b"\\n")
print(json.dumps(json.loads(sock.makefile().readline())), flush=True)
time.sleep(60)
"""


def recovery_bot(settings: Settings, channel: str, mode: str = "plain", *extra: str) -> list[str]:
    return [
        str(BOTS / "recovery_bot.py"),
        str(settings.monitoring.socket_path),
        channel,
        mode,
        *extra,
    ]


def kill_bot(ctl: Controller, channel: str) -> None:
    bot = ctl.services.fleet.bots.get(channel)
    if bot is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(bot.pid, signal.SIGKILL)


async def online(ctl: Controller, channel: str) -> int:
    def up() -> int | None:
        bot = ctl.services.fleet.bots.get(channel)
        return bot.pid if bot is not None and bot.status == "online" else None

    pid: int = await wait_for(up, timeout=30)
    return pid


async def test_restart_by_control_message(workdir: Path, start_controller: Any) -> None:
    settings = make_settings(workdir)
    ctl: Controller = await start_controller(settings)
    supervisor = spawn_bot("supervised.py", *recovery_bot(settings, "kissbot"))
    try:
        old = await online(ctl, "kissbot")
        report = await ctl.services.restarts.restart("kissbot", by="alice")
        assert report.restarted and report.method == "control", report
        assert report.old_pid == old and report.new_pid not in (None, old)
        assert supervisor.stdout is not None
        exits = []
        while not exits:
            line = supervisor.stdout.readline().strip()
            exits += [line] if line.startswith(b"EXIT") else []
        assert exits == [f"EXIT {settings.recovery.restart_exit_code}".encode()]
        await ctl.store.flush()
        events = await ctl.store.fleet.recent_events("kissbot", limit=10)
        assert any("restart by alice: restarted (control)" in (e.detail or "") for e in events)
    finally:
        kill_bot(ctl, "kissbot")
        kill_quietly(supervisor)


async def test_restart_by_command_when_the_bot_is_gone(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir)
    settings.recovery = RecoveryConfig(
        bots={
            "el_serda": BotRecovery(
                restart_command=[
                    sys.executable,
                    str(BOTS / "launch_bot.py"),
                    str(settings.monitoring.socket_path),
                    "{channel}",
                ]
            )
        }
    )
    ctl: Controller = await start_controller(settings)
    bot = spawn_bot("recovery_bot.py", *recovery_bot(settings, "el_serda")[1:])
    try:
        old = await online(ctl, "el_serda")
        kill_quietly(bot)
        await wait_for(lambda: ctl.services.fleet.bots["el_serda"].status == "down")
        report = await ctl.services.restarts.restart("el_serda", by="alice")
        assert report.restarted and report.method == "command", report
        assert report.new_pid not in (None, old) and "launched el_serda" in report.output
    finally:
        kill_bot(ctl, "el_serda")


async def test_restart_by_signal_when_the_bot_refuses(workdir: Path, start_controller: Any) -> None:
    settings = make_settings(workdir)
    settings.recovery.stop_wait = 5
    ctl: Controller = await start_controller(settings)
    supervisor = spawn_bot("supervised.py", *recovery_bot(settings, "stubborn", "stubborn"))
    try:
        old = await online(ctl, "stubborn")
        report = await ctl.services.restarts.restart("stubborn", by="alice")
        assert report.restarted and report.method == "signal", report
        assert f"SIGTERM to pid {old}" in report.reason and report.new_pid != old
    finally:
        kill_bot(ctl, "stubborn")
        kill_quietly(supervisor)


async def test_a_pid_not_vouched_for_is_never_signalled(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir, verify_peer_pid=False)
    ctl: Controller = await start_controller(settings)
    victim = spawn_bot("recovery_bot.py", *recovery_bot(settings, "victim", "stubborn")[1:])
    try:
        await online(ctl, "victim")
        # Another process, not the victim's ancestor, registers a name with the victim's pid.
        forger = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            FORGER,
            str(settings.monitoring.socket_path),
            str(victim.pid),
            stdout=asyncio.subprocess.PIPE,
        )
        assert forger.stdout is not None
        assert b'"ok": true' in await asyncio.wait_for(forger.stdout.readline(), 30)
        report = await ctl.services.restarts.restart("claimed", by="alice")
        assert report.outcome == "not_restarted" and report.method == "none"
        assert "not vouched for" in report.reason
        assert victim.poll() is None  # untouched
        forger.kill()
        await forger.wait()
    finally:
        kill_quietly(victim)


async def test_a_child_is_restarted_unless_it_exits_with_the_dont_restart_code(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir)
    crash, done = workdir / "crash.marker", workdir / "done.marker"
    settings.recovery = RecoveryConfig(
        auto_restart=True,
        spread=0,
        bots={
            "crasher": BotRecovery(
                command=[
                    sys.executable,
                    *recovery_bot(settings, "{channel}", "exit", "3", str(crash)),
                ]
            ),
            "quitter": BotRecovery(
                command=[
                    sys.executable,
                    *recovery_bot(settings, "{channel}", "exit", "0", str(done)),
                ]
            ),
        },
    )
    ctl: Controller = await start_controller(settings)
    try:
        first = await online(ctl, "crasher")
        await wait_for(crash.exists)

        def came_back() -> bool:
            bot = ctl.services.fleet.bots["crasher"]
            return bot.pid != first and bot.status == "online"

        await wait_for(came_back, timeout=30)
        await wait_for(done.exists)
        await wait_for(lambda: ctl.services.restarts.policy.state("quitter").state == "stopped")
        assert ctl.services.fleet.bots["quitter"].status == "down"
        await ctl.store.flush()
        events = await ctl.store.fleet.recent_events("crasher", limit=20)
        assert any("will restart" in (e.detail or "") for e in events)
    finally:
        kill_bot(ctl, "crasher")
        kill_bot(ctl, "quitter")


@pytest.fixture
def policy() -> RestartPolicy:
    config = RecoveryConfig(
        backoff_initial=1,
        backoff_multiplier=2,
        backoff_max=10,
        jitter=0.5,
        stable_after=30,
        max_starts=3,
        start_window=100,
        fatal_retry_after=1800,
    )
    return RestartPolicy(config, rand=lambda: 1.0)  # the largest jitter: +50 %


def test_backoff_grows_with_jitter_and_resets_after_stable_uptime(policy: RestartPolicy) -> None:
    now = 1000.0
    delays = []
    for _ in range(3):
        verdict = policy.exited("b", now)
        assert verdict.action == "restart" and verdict.at is not None
        delays.append(verdict.at - now)
        now = verdict.at
        policy.starting("b", now)
        now += 1
    assert delays == [1.5, 3.0, 6.0]  # 1, 2, 4 s, each +50 %
    low = RestartPolicy(policy.config, rand=lambda: 0.0)
    assert low.exited("c", 0).at == 0.5  # -50 %
    capped = RestartPolicy(policy.config.model_copy(update={"max_starts": 99}), rand=lambda: 0.5)
    for _ in range(8):
        at = capped.exited("d", 0).at
        capped.starting("d", 0)
    assert at == 10  # capped at backoff_max
    policy.starting("e", 0)
    policy.state("e").failures = 5
    assert policy.exited("e", 31).at == 31 + 1.5  # up 31 s: the backoff starts over


def test_fatal_after_the_limit_then_retried(policy: RestartPolicy) -> None:
    now = 0.0
    for _ in range(3):
        verdict = policy.exited("b", now)
        now = verdict.at or now
        policy.starting("b", now)
    verdict = policy.exited("b", now + 1)
    assert verdict.action == "fatal" and "3 starts within 100s" in verdict.reason
    assert policy.due(now + 1000) == []
    assert policy.due(now + 1 + 1800) == ["b"]  # unlike supervisord, FATAL is tried again
    policy.starting("b", now + 1801)
    assert policy.exited("b", now + 1802).action == "restart"  # a new window
    forever = RestartPolicy(policy.config.model_copy(update={"fatal_retry_after": 0}))
    for _ in range(3):
        forever.starting("x", 0)
    assert forever.exited("x", 1).at is None and forever.due(1e9) == []


def test_the_dont_restart_code_stops(policy: RestartPolicy) -> None:
    assert policy.exited("b", 0, exit_code=0).action == "stop"
    assert policy.due(1e9) == [] and policy.state("b").state == "stopped"
    assert policy.exited("c", 0, exit_code=1).action == "restart"


def test_restart_commands_substitute_the_channel_only() -> None:
    ok = BotRecovery(restart_command="systemctl restart 'kissbot@{channel}'")
    assert ok.restart_command == ["systemctl", "restart", "kissbot@{channel}"]
    with pytest.raises(ValueError, match="only"):
        BotRecovery(restart_command=["sh", "-c", "{reason}"])
