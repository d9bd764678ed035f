"""The Alertmanager sink against loopback fakes of Alertmanager's API, on the fake clock: what an
alert says, when it is posted again, what a silence, a failing instance and a restart do."""

from __future__ import annotations

import asyncio
import base64
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from chatops.alerts.alertmanager import AlertmanagerPublisher
from chatops.alerts.alertmanager_instance import AlertmanagerInstance, rfc3339
from chatops.composition.alerting import Alerting, compose_alerts
from chatops.config import AlertsConfig, load_settings
from chatops.config_file import ConfigError
from chatops.records.alerts import Severity
from chatops.runtime.bus import EventBus
from chatops.runtime.timers import Timers
from chatops.services.operators import OperatorGate
from chatops.services.ownership import Ownership
from chatops.store import Store
from tests.conftest import FakeClock, make_settings, wait_for, went_down
from tests.webhook_receiver import WebhookReceiver

START = 1_800_000_000.25
"""A fractional second: ``startsAt`` must not depend on what the store keeps of it."""
RESEND = 60.0


@dataclass
class Post:
    path: str
    alerts: list[dict[str, Any]]
    headers: dict[str, str]

    def by_subject(self) -> dict[str, dict[str, Any]]:
        return {alert["labels"]["subject"]: alert for alert in self.alerts}


FakeAlertmanager = WebhookReceiver
"""Alertmanager's API, as far as the publisher sees it: posts recorded and answered as
scripted (then 204). Start it with ``path=""``: its URL is the instance's base URL."""


class Pipeline:
    """The alert pipeline as the controller composes it, Alertmanager publisher included."""

    def __init__(self, workdir: Path, store: Store, clock: FakeClock, config: AlertsConfig):
        self.settings = make_settings(workdir)
        self.settings.alerts = config
        self.store = store
        self.clock = clock
        self.hosts: dict[str, str] = {}
        self.stack = AsyncExitStack()
        self.timers = Timers(clock)
        self.bus = EventBus()
        self.seen: dict[str, int] = {}
        """How many posts each fake got from this pipeline."""

    async def start(self) -> Pipeline:
        http = aiohttp.ClientSession()
        self.stack.push_async_callback(http.close)
        self.stack.push_async_callback(self.timers.close)
        self.alerting: Alerting = await compose_alerts(
            self.stack,
            self.settings,
            store=self.store,
            http=http,
            bus=self.bus,
            timers=self.timers,
            operators=OperatorGate(Ownership()),
            extra_sinks=[],
            clock=self.clock,
        )
        assert self.alerting.alertmanager is not None
        self.publisher: AlertmanagerPublisher = self.alerting.alertmanager
        await self.publisher.start(host_of=self.hosts.get)
        return self

    async def stop(self) -> None:
        await self.store.flush()
        await self.stack.aclose()

    def instance(self, am: FakeAlertmanager) -> AlertmanagerInstance:
        port = am.url.rsplit(":", 1)[1].strip("/")
        return next(i for i in self.publisher.instances if f":{port}:" in i.name)

    async def next_post(self, am: FakeAlertmanager) -> Post:
        """The next post ``am`` got, once the publisher has taken its answer in."""
        received = await asyncio.wait_for(am.posts.get(), 10)
        post = Post(received.path, received.body, received.headers)
        instance = self.instance(am)
        self.seen[am.url] = seen = self.seen.get(am.url, 0) + 1
        await wait_for(lambda: instance.sent + instance.failed >= seen and not instance.in_flight)
        return post

    def later(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.timers.run_due()

    def until(self, when: float | None) -> None:
        assert when is not None
        self.clock.now = max(self.clock.now, when)
        self.timers.run_due()

    def over_quota(self, severity: Severity, detail: str = "9% left of claude-5h") -> None:
        self.alerting.router.problem(
            "claude-5h",
            "quota",
            state=str(severity),
            severity=severity,
            detail=detail,
            ts=self.clock(),
            announce_change=True,
        )


def am_config(*fakes: FakeAlertmanager, **extra: Any) -> AlertsConfig:
    return AlertsConfig(
        alertmanager_urls=[SecretStr(fake.url) for fake in fakes],
        alertmanager_resend=RESEND,
        retry_initial=1,
        retry_max=8,
        **extra,
    )


@pytest.fixture
async def am() -> AsyncIterator[FakeAlertmanager]:
    fake = await FakeAlertmanager().start(path="")
    yield fake
    await fake.stop()


@pytest.fixture
async def am2() -> AsyncIterator[FakeAlertmanager]:
    fake = await FakeAlertmanager(script=[(503, {}), (503, {})]).start(
        userinfo="ops:hunter2@", path=""
    )
    yield fake
    await fake.stop()


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def pipeline(
    workdir: Path, store: Store, fake_clock: FakeClock, am: FakeAlertmanager
) -> AsyncIterator[Pipeline]:
    running = Pipeline(workdir, store, fake_clock, am_config(am))
    running.hosts["remote-bot"] = "box-7"
    await running.start()
    assert (await running.next_post(am)).alerts == []  # the first post: nothing open yet
    yield running
    await running.stop()


async def test_an_incident_is_posted_with_its_labels_annotations_and_times(
    pipeline: Pipeline, am: FakeAlertmanager
) -> None:
    opened = pipeline.clock()
    pipeline.bus.publish(went_down("kissbot", "its process exited", ts=opened))
    post = await pipeline.next_post(am)  # at once, not at the next resend
    assert post.path == "/api/v2/alerts"
    assert post.alerts == [
        {
            "labels": {
                "alertname": "down",
                "subject": "kissbot",
                "severity": "critical",
                "host": socket.gethostname(),
            },
            "annotations": {"summary": "kissbot is down", "description": "its process exited"},
            "startsAt": "2027-01-15T08:00:00.000Z",  # whole seconds, as the store keeps it
            "endsAt": rfc3339(opened + 4 * RESEND),
        }
    ]
    # A bot the fleet knows on another host is labelled with that host.
    pipeline.alerting.router.problem(
        "remote-bot", "down", state="stale", severity=Severity.WARNING, detail="late", ts=opened
    )
    alerts = (await pipeline.next_post(am)).by_subject()
    assert set(alerts) == {"kissbot", "remote-bot"}  # the whole open set, in every post
    assert alerts["remote-bot"]["labels"] == {
        "alertname": "down",
        "subject": "remote-bot",
        "severity": "warning",
        "host": "box-7",
    }
    assert alerts["remote-bot"]["annotations"]["summary"] == "remote-bot is stale"


async def test_resent_every_interval_while_open_and_ended_now_when_resolved(
    pipeline: Pipeline, am: FakeAlertmanager
) -> None:
    pipeline.over_quota(Severity.CRITICAL)
    first = (await pipeline.next_post(am)).alerts[0]
    pipeline.later(RESEND - 1)
    pipeline.later(1)
    resent = (await pipeline.next_post(am)).alerts[0]
    assert resent["labels"] == first["labels"] and resent["startsAt"] == first["startsAt"]
    assert resent["endsAt"] == rfc3339(pipeline.clock() + 4 * RESEND)
    assert resent["endsAt"] > first["endsAt"]
    assert am.posts.empty()  # one post per interval, not one at RESEND - 1 too

    pipeline.later(7)
    assert pipeline.alerting.router.resolve("claude-5h", "quota", state="ok", ts=pipeline.clock())
    (ended,) = (await pipeline.next_post(am)).alerts
    assert ended["labels"] == first["labels"] and ended["startsAt"] == first["startsAt"]
    assert ended["endsAt"] == rfc3339(pipeline.clock())
    # Accepted once: the next resend no longer carries it.
    pipeline.later(RESEND)
    assert (await pipeline.next_post(am)).alerts == []


async def test_a_severity_change_ends_the_old_labels(
    pipeline: Pipeline, am: FakeAlertmanager
) -> None:
    pipeline.over_quota(Severity.WARNING, "25% left of claude-5h")
    (warning,) = (await pipeline.next_post(am)).alerts
    pipeline.later(5)
    pipeline.over_quota(Severity.CRITICAL)
    alerts = (await pipeline.next_post(am)).alerts
    by_severity = {alert["labels"]["severity"]: alert for alert in alerts}
    assert set(by_severity) == {"warning", "critical"}
    assert by_severity["warning"]["endsAt"] == rfc3339(pipeline.clock())
    assert by_severity["critical"]["startsAt"] == warning["startsAt"]
    assert by_severity["critical"]["endsAt"] == rfc3339(pipeline.clock() + 4 * RESEND)
    assert by_severity["critical"]["annotations"]["description"] == "9% left of claude-5h"


async def test_a_silenced_incident_is_posted_only_once_its_silence_ends(
    pipeline: Pipeline, am: FakeAlertmanager
) -> None:
    pipeline.alerting.silences.add("claude-5h", RESEND * 1.5, kind="quota", created_by="op")
    opened = pipeline.clock()
    pipeline.over_quota(Severity.CRITICAL)
    # No post at once, and the resend leaves it out.
    pipeline.later(RESEND)
    assert (await pipeline.next_post(am)).alerts == []
    # The silence ends half-way to the next resend: the router's tick (a scheduler job) lets
    # it go, and it is posted then, not at the resend.
    pipeline.clock.advance(RESEND / 2)
    pipeline.alerting.router.tick()
    pipeline.timers.run_due()
    (alert,) = (await pipeline.next_post(am)).alerts
    assert alert["labels"]["subject"] == "claude-5h"
    assert alert["startsAt"] == rfc3339(int(opened))


async def test_a_silence_that_begins_drops_it_from_the_resends(
    pipeline: Pipeline, am: FakeAlertmanager
) -> None:
    pipeline.over_quota(Severity.CRITICAL)
    assert len((await pipeline.next_post(am)).alerts) == 1
    pipeline.alerting.silences.add("claude-5h", 3600, created_by="op")
    pipeline.later(RESEND)
    assert (await pipeline.next_post(am)).alerts == []  # left to expire at its endsAt


async def test_a_failing_instance_backs_off_alone_and_shows_in_the_probe(
    workdir: Path,
    store: Store,
    fake_clock: FakeClock,
    am: FakeAlertmanager,
    am2: FakeAlertmanager,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    running = await Pipeline(workdir, store, fake_clock, am_config(am, am2)).start()
    try:
        good, bad = running.instance(am), running.instance(am2)
        assert (await running.next_post(am)).alerts == []
        first = await running.next_post(am2)
        assert (
            first.headers["Authorization"] == "Basic " + base64.b64encode(b"ops:hunter2").decode()
        )  # the URL's credentials are used, as Basic auth
        assert bad.failures == 1 and bad.next_post_at is not None
        assert 0.5 <= bad.next_post_at - fake_clock() <= 1  # retry_initial, with jitter

        check = await running.publisher.probe()
        assert check.name == "alertmanager" and check.status == "warning"
        assert bad.name in check.detail and "HTTP 503: unavailable" in check.detail
        assert good.name not in check.detail

        # The other instance is told at once; the failing one waits for its retry.
        running.over_quota(Severity.CRITICAL)
        assert len((await running.next_post(am)).alerts) == 1
        assert am2.posts.empty()
        running.until(bad.next_post_at)
        assert len((await running.next_post(am2)).alerts) == 1  # the change rides the retry
        assert bad.failures == 2 and 1 <= bad.next_post_at - fake_clock() <= 2  # doubled
        running.until(bad.next_post_at)
        assert len((await running.next_post(am2)).alerts) == 1
        assert (bad.sent, bad.failed, bad.failures) == (1, 2, 0)
        assert bad.last_error == "HTTP 503: unavailable" and bad.last_success_at == fake_clock()
        check = await running.publisher.probe()
        assert check.status == "ok" and "accepted 1 firing alert" in check.detail
        # Back on the resend interval.
        assert bad.next_post_at == fake_clock() + RESEND
    finally:
        await running.stop()
    assert "hunter2" not in caplog.text and "hunter2" not in repr(bad)
    assert bad.name.startswith("alertmanager:127.0.0.1:")


async def test_a_restart_reposts_the_same_alert_and_ends_what_it_had_not_ended(
    workdir: Path,
    store: Store,
    fake_clock: FakeClock,
    am: FakeAlertmanager,
) -> None:
    first = await Pipeline(workdir, store, fake_clock, am_config(am)).start()
    await first.next_post(am)
    first.alerting.router.problem(
        "kissbot", "down", state="down", severity=Severity.CRITICAL, detail="gone", ts=START
    )
    first.over_quota(Severity.WARNING)
    before = (await first.next_post(am)).by_subject()
    # The quota recovers, but the instance fails that post: then the controller dies.
    am.script.append((503, {}))
    first.later(10)
    resolved_at = fake_clock()
    first.alerting.router.resolve("claude-5h", "quota", state="ok", ts=resolved_at)
    assert "claude-5h" in (await first.next_post(am)).by_subject()
    assert first.instance(am).failing
    await first.stop()

    fake_clock.advance(20)
    second = await Pipeline(workdir, store, fake_clock, am_config(am)).start()
    try:
        after = (await second.next_post(am)).by_subject()
        assert after["kissbot"] == {**before["kissbot"], "endsAt": after["kissbot"]["endsAt"]}
        assert after["kissbot"]["startsAt"] == rfc3339(int(START))
        assert after["kissbot"]["endsAt"] == rfc3339(fake_clock() + 4 * RESEND)
        quota = after["claude-5h"]
        assert quota["labels"] == before["claude-5h"]["labels"]
        assert quota["startsAt"] == before["claude-5h"]["startsAt"]
        assert quota["endsAt"] == rfc3339(int(resolved_at))  # resolved, as the store has it
        second.later(RESEND)
        assert set((await second.next_post(am)).by_subject()) == {"kissbot"}
    finally:
        await second.stop()


async def test_the_controller_label_only_when_set(
    workdir: Path, store: Store, fake_clock: FakeClock, am: FakeAlertmanager
) -> None:
    config = am_config(am, alertmanager_controller_label="prod-a")
    running = await Pipeline(workdir, store, fake_clock, config).start()
    try:
        await running.next_post(am)
        running.over_quota(Severity.CRITICAL)
        (alert,) = (await running.next_post(am)).alerts
        assert alert["labels"]["controller"] == "prod-a"
        assert set(alert["labels"]) == {"alertname", "subject", "severity", "host", "controller"}
    finally:
        await running.stop()


async def test_without_the_controller_label_two_controllers_post_the_same_alert(
    workdir: Path, tmp_path: Path, fake_clock: FakeClock, am: FakeAlertmanager
) -> None:
    other = await FakeAlertmanager().start(path="")
    stores = [await Store.open(tmp_path / f"{n}.db", max_delay=0) for n in ("a", "b")]
    posted = []
    try:
        for fake, opened in zip((am, other), stores, strict=True):
            run = await Pipeline(workdir, opened, fake_clock, am_config(fake)).start()
            await run.next_post(fake)
            run.bus.publish(went_down("kissbot", "its process exited", ts=fake_clock()))
            posted.append((await run.next_post(fake)).alerts[0])
            await run.stop()
            fake_clock.advance(0.5)  # the other controller saw it a little later
        assert posted[0]["labels"] == posted[1]["labels"]
        assert "controller" not in posted[0]["labels"]
    finally:
        await other.stop()
        for opened in stores:
            await opened.close()


def test_a_bad_url_is_a_config_error_naming_the_key_and_not_the_value(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "alerts:\n  alertmanager_urls: ['http://am-1:9093', 'ftp://ops:hunter2@am-2/']\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    message = str(caught.value)
    assert "alerts.alertmanager_urls" in message and "entry 1" in message
    assert "hunter2" not in message and "am-2" not in message
    config.write_text("alerts:\n  alertmanager_urls: ['http://ops:hunter2@am-1:99999']\n")
    with pytest.raises(ConfigError, match=r"entry 0 has a port") as caught:
        load_settings(config)
    assert "hunter2" not in str(caught.value)
    config.write_text("alerts:\n  alertmanager_resend: 0\n")
    with pytest.raises(ConfigError, match=r"alerts\.alertmanager_resend"):
        load_settings(config)
    config.write_text("alerts:\n  alertmanager_urls: ['https://ops:pw@am-1:9093/prefix']\n")
    assert load_settings(config).alerts.alertmanager_controller_label is None


async def test_a_controller_reports_an_unreachable_instance_without_its_secrets(
    workdir: Path, start_controller: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = make_settings(workdir)
    settings.alerts = AlertsConfig(
        alertmanager_urls=[SecretStr("http://ops:hunter2@127.0.0.1:9/am?token=sekrit")],
        retry_initial=60,
    )
    ctl = await start_controller(settings)
    publisher = ctl.services.alertmanager
    assert publisher is not None
    (instance,) = publisher.instances
    await wait_for(lambda: instance.failed >= 1)  # its first post, at start
    checks = {c.name: c for c in await ctl.services.diagnostics.run_diagnostics()}
    check = checks["alertmanager"]
    assert check.status == "warning" and instance.name in check.detail
    assert "ClientConnectorError" in check.detail
    health = await ctl.services.diagnostics.health()
    assert health.status == "degraded"
    assert any(reason.startswith("alertmanager: ") for reason in health.reasons)
    for text in (check.detail, caplog.text, str(instance.last_error)):
        assert "hunter2" not in text and "sekrit" not in text


async def test_no_publisher_without_urls(controller: Any) -> None:
    assert controller.services.alertmanager is None
    checks = await controller.services.diagnostics.run_diagnostics()
    assert "alertmanager" not in {check.name for check in checks}


def test_an_api_path_pasted_as_the_url_is_refused_at_load(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("alerts:\n  alertmanager_urls: ['http://am-1:9093/api/v2/alerts']\n")
    with pytest.raises(ConfigError, match=r"entry 0 names an API path; give the instance's base"):
        load_settings(config)


def test_only_an_alertmanager_url_with_credentials_is_a_secret_to_warn_about(
    tmp_path: Path,
) -> None:
    from chatops.config import secrets_exposed

    config = tmp_path / "config.yaml"
    config.write_text("alerts:\n  alertmanager_urls: ['http://am-1:9093']\n")
    config.chmod(0o644)
    assert secrets_exposed(config) is None
    config.write_text("alerts:\n  alertmanager_urls: ['http://am-1:9093', 'http://ops:pw@am-2']\n")
    warning = secrets_exposed(config)
    assert warning is not None and "alerts.alertmanager_urls" in warning and "pw" not in warning
