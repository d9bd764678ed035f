"""Alerts that happen together go out together, each keeps its own id, and a resend after an
unclear failure or a crash is recognisably the same message."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from chatops.alerts.delivery import AlertDelivery
from chatops.alerts.sinks import ALERT_ID_HEADER, GROUP_ID_HEADER, DeliveryError
from chatops.config import AlertsConfig, MonitoringConfig, Settings
from chatops.presentation.fleet_alerts import fleet_notice
from chatops.records.alerts import Alert, Severity
from chatops.store import Store
from tests.conftest import FakeClock, new_controller, wait_for, went_down
from tests.webhook_receiver import WebhookReceiver


class FlakySink:
    """Fails as scripted (None: success), recording every attempt's group."""

    name = "flaky"
    ready = True
    pace = 0.0
    storms = False

    def __init__(self, script: list[DeliveryError | None]) -> None:
        self.script = script
        self.attempts: list[tuple[str, list[str]]] = []

    async def send(self, alerts: Sequence[Alert], group_id: str) -> None:
        self.attempts.append((group_id, [a.subject for a in alerts]))
        outcome = self.script.pop(0) if self.script else None
        if outcome is not None:
            raise outcome


def down(channel: str) -> Alert:
    return fleet_notice("down", channel, "down", "gone", 1.8e9, Severity.CRITICAL)


async def test_a_burst_is_sent_as_few_groups_naming_every_bot(store: Store) -> None:
    delivery = AlertDelivery(store, AlertsConfig(group_wait=0.1))
    sink = FlakySink([])
    delivery.add_sink(sink)
    await delivery.start()
    try:
        for i in range(30):
            delivery.enqueue(down(f"bot-{i:02d}"))
        await wait_for(lambda: not delivery.pending, timeout=10)
    finally:
        await delivery.close()
    assert [len(names) for _, names in sink.attempts] == [20, 10]
    assert sorted(n for _, names in sink.attempts for n in names) == [
        f"bot-{i:02d}" for i in range(30)
    ]


async def test_unclear_failure_resends_the_same_group_and_a_429_regroups(store: Store) -> None:
    delivery = AlertDelivery(store, AlertsConfig(group_wait=0, retry_initial=0.05, retry_max=0.1))
    sink = FlakySink([DeliveryError("timeout"), DeliveryError("429", retry_after=0.2), None])
    delivery.add_sink(sink)
    await delivery.start()
    try:
        delivery.enqueue(down("a"))
        await wait_for(lambda: len(sink.attempts) == 2, timeout=10)
        delivery.enqueue(down("b"))  # arrives while the 429 holds the sink
        await wait_for(lambda: not delivery.pending, timeout=10)
    finally:
        await delivery.close()
    (first, names1), (second, names2), (_, names3) = sink.attempts[:3]
    # Maybe posted: the same group again (same nonce). Refused outright: regrouped with "b".
    assert first == second and names1 == names2 == ["a"]
    assert names3 == ["a", "b"]


async def test_a_group_started_before_a_crash_is_resent_as_the_same_group(
    workdir: Path,
) -> None:
    path = workdir / "crash.db"
    store = await Store.open(path, max_delay=0)
    hung = asyncio.Event()

    class HangingSink(FlakySink):
        async def send(self, alerts: Sequence[Alert], group_id: str) -> None:
            self.attempts.append((group_id, [a.subject for a in alerts]))
            hung.set()
            await asyncio.sleep(3600)  # posted, then the controller dies before the commit

    before = HangingSink([])
    delivery = AlertDelivery(store, AlertsConfig(group_wait=0))
    delivery.add_sink(before)
    await delivery.start()
    delivery.enqueue(down("x"))
    delivery.enqueue(down("y"))
    await asyncio.wait_for(hung.wait(), 10)
    await delivery.close()
    await store.close()

    store = await Store.open(path, max_delay=0)
    after = FlakySink([])
    after.name = before.name
    delivery = AlertDelivery(store, AlertsConfig(group_wait=0))
    delivery.add_sink(after)
    await delivery.start()
    try:
        await wait_for(lambda: not delivery.pending, timeout=10)
    finally:
        await delivery.close()
        await store.close()
    assert after.attempts == before.attempts  # same group id, same alerts, same order


async def test_webhook_gets_one_post_per_group_with_every_alert_id(workdir: Path) -> None:
    receiver = await WebhookReceiver().start()
    settings = Settings(
        monitoring=MonitoringConfig(socket_path=workdir / "m.sock", database_path=workdir / "c.db"),
        alerts=AlertsConfig(webhook_urls=[receiver.url], group_wait=0.2),
    )
    ctl = new_controller(settings)
    await ctl.start()
    try:
        for i in range(5):
            ctl.services.bus.publish(went_down(f"b{i}"))
        await wait_for(lambda: receiver.delivered(), timeout=10)
        await ctl.services.delivery.settled()  # the worker is done: nothing else follows
        assert ctl.services.delivery.pending == []
    finally:
        await ctl.stop()
        await receiver.stop()
    [post] = receiver.received
    body = post.body
    ids = [alert["alert_id"] for alert in body["alerts"]]
    assert [alert["bot"] for alert in body["alerts"]] == [f"b{i}" for i in range(5)]
    assert len(set(ids)) == 5 and all(len(i) == 20 for i in ids)
    assert post.headers[ALERT_ID_HEADER] == ",".join(ids)
    assert post.headers[GROUP_ID_HEADER] == body["group_id"]
    # The documented single-alert fields stay at the top level (the group's first alert).
    assert body["bot"] == "b0" and body["kind"] == "down" and body["alert_id"] == ids[0]


async def test_webhook_secret_is_never_logged_or_stored(
    workdir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import socket

    from tests.conftest import query

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    echo = WebhookReceiver(script=[(404, {})] * 20)
    await echo.start()
    secret = "s3cr3t-t0ken-value"
    urls = [
        f"http://127.0.0.1:{dead_port}/api/webhooks/1/{secret}",
        echo.url.replace("/hook", f"/api/webhooks/2/{secret}"),
    ]
    settings = Settings(
        monitoring=MonitoringConfig(socket_path=workdir / "m.sock", database_path=workdir / "c.db"),
        alerts=AlertsConfig(webhook_urls=urls, group_wait=0, retry_initial=5, retry_max=5),
    )
    ctl = new_controller(settings)
    with caplog.at_level(logging.INFO):
        await ctl.start()
        try:
            ctl.services.bus.publish(went_down("b"))
            await wait_for(
                lambda: (
                    len(query(workdir / "c.db", "SELECT 1 FROM alert_outbox WHERE attempts > 0"))
                    == 2
                ),
                timeout=15,
            )
        finally:
            await ctl.stop()
            await echo.stop()
    errors = query(workdir / "c.db", "SELECT sink, last_error FROM alert_outbox")
    assert len(errors) == 2 and all(error for _, error in errors)
    # Everything logged but the test receiver's own access log (which is not the controller's).
    ours = [r.getMessage() for r in caplog.records if r.name != "aiohttp.access"]
    assert ours and secret not in "\n".join(ours)
    assert secret not in repr(errors)


class GateSink(FlakySink):
    """Records each group as it starts; a send waits for ``release`` while ``hold`` is set."""

    name = "gate"

    def __init__(self) -> None:
        super().__init__([])
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.hold = False

    async def send(self, alerts: Sequence[Alert], group_id: str) -> None:
        await super().send(alerts, group_id)
        self.started.set()
        if self.hold:
            await self.release.wait()


async def test_an_isolated_alert_does_not_wait_for_group_wait(store: Store) -> None:
    """The clock never moves and group_wait is the longest allowed: an alert held for it, on the
    injected clock or on the loop's, would not arrive before the bound (which is only there so
    that it cannot hang)."""
    clock = FakeClock()
    delivery = AlertDelivery(store, AlertsConfig(group_wait=10), clock=clock)
    sink = GateSink()
    delivery.add_sink(sink)
    await delivery.start()
    try:
        delivery.enqueue(down("alone"))
        await asyncio.wait_for(sink.started.wait(), 5)
        await delivery.settled()
        assert sink.attempts == [(sink.attempts[0][0], ["alone"])]
        assert delivery.pending == [] and ("alert_group", "gate") not in delivery.timers
    finally:
        await delivery.close()


async def test_what_arrives_while_a_send_is_in_flight_goes_out_grouped(store: Store) -> None:
    """A burst of 100: the first leaves at once, the rest gather while it is being sent."""
    delivery = AlertDelivery(store, AlertsConfig(), clock=FakeClock())
    sink = GateSink()
    sink.hold = True
    delivery.add_sink(sink)
    await delivery.start()
    try:
        delivery.enqueue(down("bot-000"))
        await asyncio.wait_for(sink.started.wait(), 10)
        for i in range(1, 100):
            delivery.enqueue(down(f"bot-{i:03d}"))
        await store.flush()
        assert [names for _, names in sink.attempts] == [["bot-000"]]  # still in flight
        sink.release.set()
        await wait_for(lambda: not delivery.pending, timeout=10)
        await delivery.settled()
    finally:
        await delivery.close()
    sizes = [len(names) for _, names in sink.attempts]
    assert sizes == [1, 20, 20, 20, 20, 19] and len(sizes) < 100
    assert sorted(n for _, names in sink.attempts for n in names) == [
        f"bot-{i:03d}" for i in range(100)
    ]


async def test_group_wait_paces_only_the_later_messages_of_a_burst(store: Store) -> None:
    clock = FakeClock()
    delivery = AlertDelivery(store, AlertsConfig(group_wait=0.5), clock=clock)
    sink = GateSink()
    sink.hold = True
    delivery.add_sink(sink)
    await delivery.start()
    try:
        delivery.enqueue(down("first"))
        await asyncio.wait_for(sink.started.wait(), 10)
        for name in ("a", "b", "c"):
            delivery.enqueue(down(name))
        sink.release.set()
        # Not full, and the previous message began just now: it waits on the injected clock.
        await wait_for(lambda: ("alert_group", "gate") in delivery.timers, timeout=10)
        assert [names for _, names in sink.attempts] == [["first"]]
        delivery.enqueue(down("d"))  # joins the paused message
        await store.flush()
        clock.advance(0.5)
        delivery.timers.run_due()
        await wait_for(lambda: not delivery.pending, timeout=10)
        await delivery.settled()
    finally:
        await delivery.close()
    assert [names for _, names in sink.attempts] == [["first"], ["a", "b", "c", "d"]]


async def test_a_sinks_own_pace_spaces_a_burst_without_slowing_the_first(store: Store) -> None:
    """The Discord channel's pace (one message a second within a burst) applies to that sink
    alone: its first alert leaves at once, the next message waits a second after it began and
    names what arrived meanwhile, while an unpaced sink in the same delivery does not wait."""
    clock = FakeClock()
    delivery = AlertDelivery(store, AlertsConfig(), clock=clock)
    paced, free = GateSink(), GateSink()
    paced.name, paced.pace = "paced", 1.0
    free.name = "free"
    delivery.add_sink(paced)
    delivery.add_sink(free)
    await delivery.start()
    try:
        delivery.enqueue(down("first"))
        await asyncio.wait_for(paced.started.wait(), 10)
        await wait_for(lambda: len(free.attempts) == 1, timeout=10)
        for name in ("a", "b"):
            delivery.enqueue(down(name))
        await wait_for(lambda: ("alert_group", "paced") in delivery.timers, timeout=10)
        await wait_for(lambda: len(free.attempts) >= 2, timeout=10)
        assert [names for _, names in paced.attempts] == [["first"]]
        assert ("alert_group", "free") not in delivery.timers
        clock.advance(0.999)
        delivery.timers.run_due()
        assert [names for _, names in paced.attempts] == [["first"]]  # not a second yet
        clock.advance(0.001)
        delivery.timers.run_due()
        await wait_for(lambda: not delivery.pending, timeout=10)
        await delivery.settled()
    finally:
        await delivery.close()
    assert [names for _, names in paced.attempts] == [["first"], ["a", "b"]]
    assert sorted(n for _, names in free.attempts for n in names) == ["a", "b", "first"]


async def test_a_closed_delivery_starts_no_worker(store: Store) -> None:
    """A commit that lands after the close (the store is closing next) sends nothing: what it
    holds stays in the outbox for the next start."""
    delivery = AlertDelivery(store, AlertsConfig(), clock=FakeClock())
    sink = GateSink()
    delivery.add_sink(sink)
    await delivery.start()
    delivery.enqueue(down("late"))
    await delivery.close()
    await store.flush()  # its commit's kick comes now
    await delivery.settled()
    assert sink.attempts == [] and [item.alert.subject for item in delivery.pending] == ["late"]
