"""The Alertmanager sink against a real Alertmanager (Debian's ``prometheus-alertmanager``) on
loopback, with a webhook receiver of the test's own: real controllers (``chatops run``), real
bots, and what Alertmanager notifies, counted.

Alertmanager notifies per group (``group_by: [alertname, subject]``): its first notice after
``group_wait``, then at most one per ``group_interval`` when the group changed, and a
``repeat_interval`` (long here) for the same again. Whether a re-post after a controller's crash
or a second controller's post changes the group is decided at the group's next flush; the
tests wait for two flushes (Alertmanager logs each at debug level: the second one starts only
once the first one's notification was sent) before they count.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import urllib.request
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from chatops.client.blocking import request
from chatops.wire.protocol import RunDiagnostics
from tests.conftest import (
    ControllerProcess,
    kill_quietly,
    query,
    spawn_bot,
    wait_for,
)
from tests.real_programs import Program, free_port, need
from tests.webhook_receiver import WebhookReceiver

RESEND = 2.0
"""``alerts.alertmanager_resend``: an alert's ``endsAt`` is 8 s ahead, longer than a restart."""
GROUP_WAIT = "200ms"
GROUP_INTERVAL = 0.5
SETTLE = RESEND + 2 * GROUP_INTERVAL
"""How long the tests watch for a notification that should not come, after the last that
should: a full resend (every controller posted again) and a few group flushes."""


class RealAlertmanager:
    """One Alertmanager on loopback, its own config, data directory and log."""

    def __init__(self, workdir: Path, receiver_url: str) -> None:
        self.dir = workdir / f"am-{free_port()}"
        self.dir.mkdir()
        self.port = free_port()
        config = {
            "route": {
                "receiver": "test",
                "group_by": ["alertname", "subject"],
                "group_wait": GROUP_WAIT,
                "group_interval": f"{int(GROUP_INTERVAL * 1000)}ms",
                "repeat_interval": "1h",
            },
            "receivers": [
                {
                    "name": "test",
                    "webhook_configs": [{"url": receiver_url, "send_resolved": True}],
                }
            ],
        }
        (self.dir / "alertmanager.yml").write_text(yaml.safe_dump(config))
        self.log = self.dir / "alertmanager.log"
        self.program = Program(
            [
                need("prometheus-alertmanager"),
                f"--config.file={self.dir / 'alertmanager.yml'}",
                f"--storage.path={self.dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
                "--log.level=debug",
            ],
            self.log,
            f"http://127.0.0.1:{self.port}/-/ready",
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alerts(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=5) as response:
            found: list[dict[str, Any]] = json.load(response)
            return found

    def flushes(self) -> int:
        """How many times a group was flushed (each flush logs ``msg=flushing``)."""
        return self.log.read_text().count("msg=flushing")

    async def two_flushes_later(self) -> None:
        """Wait until the groups were flushed twice more: whatever the first of them notified
        has reached the receiver (a group sends its notification before it flushes again)."""
        start = self.flushes()
        await wait_for(lambda: self.flushes() >= start + 2, timeout=20)


class Notifications:
    """What the receiver got from Alertmanager, by status."""

    def __init__(self, receiver: WebhookReceiver) -> None:
        self.receiver = receiver

    def of(self, status: str) -> list[dict[str, Any]]:
        return [r.body for r in self.receiver.received if r.body.get("status") == status]

    def alerts(self, status: str) -> list[dict[str, Any]]:
        return [alert for body in self.of(status) for alert in body["alerts"]]


@pytest.fixture
async def alertmanager(workdir: Path) -> AsyncIterator[tuple[RealAlertmanager, Notifications]]:
    need("prometheus-alertmanager")
    receiver = await WebhookReceiver().start()
    am = RealAlertmanager(workdir, receiver.url)
    # Started off the loop: the receiver must keep answering (a late answer is retried).
    await asyncio.to_thread(am.program.start)
    try:
        yield am, Notifications(receiver)
    finally:
        await asyncio.to_thread(am.program.stop)
        await receiver.stop()


def sections(am: RealAlertmanager) -> dict[str, dict[str, Any]]:
    return {
        "alerts": {
            "alertmanager_urls": [am.url],
            "alertmanager_resend": RESEND,
            "retry_initial": 0.2,
            "retry_max": 1,
        }
    }


async def started_bot(script: str, *args: str) -> Any:
    bot = spawn_bot(script, *args)
    line = await asyncio.to_thread(bot.stdout.readline)
    assert line.strip() == b"READY", line + bot.stderr.read()
    return bot


def open_incidents(ctl: ControllerProcess) -> int:
    rows = query(ctl.db, "SELECT count(*) FROM incidents WHERE resolved_at IS NULL")
    return int(rows[0][0])


def probe_of(ctl: ControllerProcess) -> dict[str, Any]:
    """The controller's ``alertmanager`` check, asked over its socket."""
    reply = request(ctl.socket_path, RunDiagnostics(), timeout=30)
    return next(check for check in reply["checks"] if check["name"] == "alertmanager")


def updated_since(am: RealAlertmanager, since: float) -> Callable[[], bool]:
    def check() -> bool:
        alerts = am.alerts()
        return bool(alerts) and all(epoch(alert["updatedAt"]) > since for alert in alerts)

    return check


async def eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll ``check`` (it blocks: an HTTP or socket round trip) off the loop, so the receiver
    keeps answering Alertmanager meanwhile."""
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(check):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.05)


def epoch(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def assert_one_each(seen: Notifications, bot: str, back_at: float) -> None:
    """One firing notice and one resolved, of the bot's ``down`` alert; resolved by the
    controller when the bot was back (``endsAt`` then), not expired at a later ``endsAt``."""
    (firing,) = seen.of("firing")
    (resolved,) = seen.of("resolved")
    for body in (firing, resolved):
        (alert,) = body["alerts"]
        assert alert["labels"]["alertname"] == "down" and alert["labels"]["subject"] == bot
        assert alert["labels"]["severity"] == "critical"
        assert alert["annotations"]["summary"] == f"{bot} is down"
    assert firing["alerts"][0]["startsAt"] == resolved["alerts"][0]["startsAt"]
    assert epoch(resolved["alerts"][0]["endsAt"]) <= back_at


async def test_a_killed_bot_notifies_once_and_its_return_once(
    alertmanager: tuple[RealAlertmanager, Notifications],
    controller_process: Callable[..., ControllerProcess],
) -> None:
    am, seen = alertmanager
    ctl = controller_process(sections(am))
    await asyncio.to_thread(ctl.start)
    bot = await started_bot("simple_bot.py", str(ctl.socket_path), "victim", "30")
    try:
        os.kill(bot.pid, signal.SIGKILL)
        await wait_for(lambda: seen.of("firing"), timeout=20)
        await am.two_flushes_later()  # the resends that follow notify nothing more
        assert len(seen.of("firing")) == 1
        back = await started_bot("simple_bot.py", str(ctl.socket_path), "victim", "30")
        back_at = time.time()  # it registered before it said READY: resolved by now
        try:
            await wait_for(lambda: seen.of("resolved"), timeout=20)
            await asyncio.sleep(SETTLE)  # watching for a second notice that must not come
            assert_one_each(seen, "victim", back_at)
        finally:
            kill_quietly(back)
    finally:
        kill_quietly(bot)
        await asyncio.to_thread(ctl.stop)


async def test_a_controller_killed_while_the_bot_is_down_notifies_nothing_twice(
    alertmanager: tuple[RealAlertmanager, Notifications],
    controller_process: Callable[..., ControllerProcess],
) -> None:
    am, seen = alertmanager
    ctl = controller_process(sections(am))
    await asyncio.to_thread(ctl.start)
    bot = await started_bot("simple_bot.py", str(ctl.socket_path), "victim", "30")
    try:
        os.kill(bot.pid, signal.SIGKILL)
        await wait_for(lambda: seen.of("firing"), timeout=20)
        await wait_for(lambda: open_incidents(ctl) == 1)
        # The controller dies without a word; another one starts on its database.
        await asyncio.to_thread(ctl.stop, signal.SIGKILL)
        restarted_at = time.time()
        await asyncio.to_thread(ctl.start)
        # It posted the alert again (the same one: nothing new for Alertmanager to notify),
        # and the group was flushed since.
        await eventually(updated_since(am, restarted_at))
        await am.two_flushes_later()
        assert len(seen.of("firing")) == 1
        back = await started_bot("simple_bot.py", str(ctl.socket_path), "victim", "30")
        back_at = time.time()  # it registered before it said READY: resolved by now
        try:
            await wait_for(lambda: seen.of("resolved"), timeout=20)
            await asyncio.sleep(SETTLE)
            assert_one_each(seen, "victim", back_at)
        finally:
            kill_quietly(back)
    finally:
        kill_quietly(bot)
        await asyncio.to_thread(ctl.stop)


async def test_two_controllers_without_the_label_notify_once(
    workdir: Path,
    alertmanager: tuple[RealAlertmanager, Notifications],
) -> None:
    am, seen = alertmanager
    controllers = []
    for name in ("a", "b"):
        home = workdir / name
        home.mkdir()
        controllers.append(ControllerProcess(home, sections(am)))
    try:
        for ctl in controllers:
            await asyncio.to_thread(ctl.start)
        sockets = [str(ctl.socket_path) for ctl in controllers]
        bot = await started_bot("twin_bot.py", *sockets, "twin", "30")
        os.kill(bot.pid, signal.SIGKILL)
        kill_quietly(bot)
        await wait_for(lambda: seen.of("firing"), timeout=20)
        # Both posted it: each one's latest accepted post held one firing alert.
        for ctl in controllers:
            await eventually(lambda ctl=ctl: "accepted 1 firing alert" in probe_of(ctl)["detail"])
        await am.two_flushes_later()
        (firing,) = seen.of("firing")
        (alert,) = firing["alerts"]
        assert alert["labels"]["subject"] == "twin" and "controller" not in alert["labels"]
        assert len(await asyncio.to_thread(am.alerts)) == 1
    finally:
        for ctl in controllers:
            if ctl.proc is not None:
                await asyncio.to_thread(ctl.stop)
