"""Reported pools over a real socket, on an injected clock: the seed's update_model_usage, two
windows on one model, a shared pool, resets (by time and by rebound), the stale flag, and the
runway against the reset."""

from __future__ import annotations

import os
from typing import Any

import pytest

from chatops.composition.controller import Controller
from chatops.records.sessions import SessionFailed
from tests.conftest import FakeClock, RawClient, RecordingSink, wait_for


@pytest.fixture
async def quota_ctl(start_controller: Any, clock: FakeClock) -> tuple[Controller, RecordingSink]:
    sink = RecordingSink()
    ctl = await start_controller(clock=clock, sinks=[sink])
    return ctl, sink


async def report(ctl: Controller, **fields: Any) -> None:
    """A provider's figures, from the registered bot ``reporter`` (only a bot may report)."""
    raw = await RawClient.connect(ctl.settings.monitoring.socket_path)
    try:
        if "reporter" not in ctl.services.fleet.bots:
            # Registered by this process, then cleanly gone: it may still report (the kernel
            # vouches for the pid), and its going raises no alert.
            registered = {"id": 0, "type": "register", "channel": "reporter", "pid": os.getpid()}
            assert (await raw.request(registered))["ok"]
            gone = {"id": 0, "type": "unregister", "channel": "reporter"}
            assert (await raw.request(gone))["ok"]
        fields = {"channel": "reporter", **fields}
        reply = await raw.request({"id": 1, "type": "model_usage", **fields})
        assert reply["ok"], reply
    finally:
        await raw.close()


async def summary(ctl: Controller) -> dict[str, dict[str, Any]]:
    raw = await RawClient.connect(ctl.settings.monitoring.socket_path)
    try:
        reply = await raw.request({"id": 2, "type": "get_quota_summary"})
    finally:
        await raw.close()
    return {quota["name"]: quota for quota in reply["quotas"]}


async def alerts(ctl: Controller, sink: RecordingSink) -> list[tuple[str, str]]:
    await ctl.store.flush()
    await wait_for(lambda: not ctl.services.delivery.pending, timeout=10)
    return [(alert.subject, alert.kind) for alert in sink.alerts]


async def test_seed_call_alerts_once_and_a_repeat_changes_nothing(quota_ctl: Any) -> None:
    ctl, sink = quota_ctl
    seed = {
        "model_name": "gemini-3-pro",
        "family": "gemini",
        "thinking_credits": 750,
        "thinking_limit": 1000,
        "flow_credits": 50,
        "flow_limit": 500,
    }
    await report(ctl, **seed)
    await report(ctl, **seed)
    quotas = await summary(ctl)
    thinking = quotas["gemini-3-pro thinking"]
    assert thinking["pct_left"] == 25 and thinking["level"] == "warning"
    assert thinking["family"] == "gemini" and thinking["models"] == ["gemini-3-pro"]
    assert quotas["gemini-3-pro flow"]["level"] == "ok"
    assert await alerts(ctl, sink) == [("gemini-3-pro thinking", "quota_warning")]
    assert sink.alerts[0].title == "25% left of pool gemini-3-pro thinking"


async def test_two_windows_on_one_model_and_a_shared_pool(quota_ctl: Any) -> None:
    ctl, sink = quota_ctl
    pools = [
        {"name": "claude 5h", "used": 95, "limit": 100, "window": "5h"},
        {"name": "claude weekly", "used": 50, "limit": 100, "window": "weekly"},
    ]
    await report(ctl, model_name="claude-opus", family="claude", pools=pools)
    await report(ctl, model_name="claude-sonnet", family="claude", pools=pools[1:])
    quotas = await summary(ctl)
    assert quotas["claude 5h"]["level"] == "critical"
    assert quotas["claude weekly"]["models"] == ["claude-opus", "claude-sonnet"]
    assert await alerts(ctl, sink) == [("claude 5h", "quota_critical")]


async def test_a_rebound_is_a_reset(quota_ctl: Any, clock: FakeClock) -> None:
    ctl, sink = quota_ctl
    pool = {"name": "p", "used": 95, "limit": 100}
    await report(ctl, model_name="m", pools=[pool])
    clock.advance(60)
    await report(ctl, model_name="m", pools=[{**pool, "used": 93}])  # 7 % left: no rebound
    clock.advance(60)
    await report(ctl, model_name="m", pools=[{**pool, "used": 10}])  # back to 90 %: reset
    clock.advance(60)
    await report(ctl, model_name="m", pools=[{**pool, "used": 75}])  # a new period's warning
    assert await alerts(ctl, sink) == [
        ("p", "quota_critical"),
        ("p", "quota_reset"),
        ("p", "quota_warning"),
    ]


async def test_a_reported_reset_time_passing_is_a_reset(quota_ctl: Any, clock: FakeClock) -> None:
    ctl, sink = quota_ctl
    resets_at = clock() + 3600
    await report(
        ctl, model_name="m", pools=[{"name": "p", "used": 80, "limit": 100, "resets_at": resets_at}]
    )
    clock.advance(3601)
    # The provider still says 80 used (a gauge a little behind): levels start over anyway.
    await report(ctl, model_name="m", pools=[{"name": "p", "used": 80, "limit": 100}])
    assert await alerts(ctl, sink) == [
        ("p", "quota_warning"),
        ("p", "quota_reset"),
        ("p", "quota_warning"),
    ]


async def test_stale_flag(quota_ctl: Any, clock: FakeClock) -> None:
    ctl, _ = quota_ctl
    await report(ctl, model_name="m", pools=[{"name": "p", "used": 1, "limit": 100}])
    assert (await summary(ctl))["p"]["stale"] is False
    clock.advance(ctl.settings.quotas.stale_after + 1)
    assert (await summary(ctl))["p"]["stale"] is True


@pytest.mark.parametrize(("reset_in", "lasts"), [(3600, True), (3 * 3600, False)])
async def test_runway_against_the_reset(
    quota_ctl: Any, clock: FakeClock, reset_in: float, lasts: bool
) -> None:
    ctl, _ = quota_ctl
    await report(ctl, model_name="m", pools=[{"name": "p", "used": 50, "limit": 100}])
    clock.advance(1800)  # 10 points in half an hour: 20 points an hour, 2 h of runway left
    resets_at = clock() + reset_in
    await report(
        ctl, model_name="m", pools=[{"name": "p", "used": 60, "limit": 100, "resets_at": resets_at}]
    )
    quota = (await summary(ctl))["p"]
    assert quota["burn_per_hour"] == pytest.approx(20)
    assert quota["exhausted_at"] == pytest.approx(clock() + 2 * 3600)
    assert quota["lasts_until_reset"] is lasts
    expected = "lasts until the reset" if lasts else "runs out in 2h 0m, 1h 0m before reset"
    assert expected in quota["runway"]


async def test_configured_shared_pool_and_pool_thresholds(
    start_controller: Any, workdir: Any, clock: FakeClock
) -> None:
    from chatops.config.quotas import QuotasConfig
    from tests.conftest import make_settings

    settings = make_settings(workdir)
    settings.quotas = QuotasConfig(
        shared_pools={"gemini-shared": ["gemini-3-pro", "gemini-3-flash"]},
        pool_thresholds={"gemini-shared thinking": [60, 40]},
    )
    sink = RecordingSink()
    ctl = await start_controller(settings, clock=clock, sinks=[sink])
    await report(
        ctl, model_name="gemini-3-pro", family="gemini", thinking_credits=450, thinking_limit=1000
    )  # 55 % left: below 60
    await report(
        ctl, model_name="gemini-3-flash", family="gemini", thinking_credits=450, thinking_limit=1000
    )
    quotas = await summary(ctl)
    assert list(quotas) == ["gemini-shared thinking"]
    assert quotas["gemini-shared thinking"]["models"] == ["gemini-3-flash", "gemini-3-pro"]
    assert await alerts(ctl, sink) == [("gemini-shared thinking", "quota_warning")]


async def test_a_rate_limit_holds_the_window_until_a_later_one(
    quota_ctl: Any, clock: FakeClock
) -> None:
    """A Claude Code session refused for a rate limit (on the bus, as its hook makes it): its
    fullest window is exhausted and held through redraws of the same window; a report of a
    later window ends the hold and renews it. A window with no reset time is left alone."""
    ctl, sink = quota_ctl
    resets_at = clock() + 3600
    five = {"name": "claude 5h", "used": 72, "limit": 100, "resets_at": resets_at}
    week = {"name": "claude 7d", "used": 40, "limit": 100, "resets_at": clock() + 86400}
    await report(ctl, model_name="claude", family="claude", pools=[five, week])
    failed = SessionFailed(clock(), "reporter", "claude-code", "rate_limit", "429")
    ctl.services.bus.publish(failed)
    clock.advance(60)
    await report(ctl, model_name="claude", family="claude", pools=[five, week])
    quotas = await summary(ctl)
    assert quotas["claude 5h"]["pct_left"] == 0 and quotas["claude 5h"]["level"] == "exhausted"
    assert quotas["claude 5h"]["resets_at"] == resets_at
    assert quotas["claude 7d"]["pct_left"] == 60
    later = {**five, "used": 5, "resets_at": resets_at + 5 * 3600}
    await report(ctl, model_name="claude", family="claude", pools=[later, week])
    assert (await summary(ctl))["claude 5h"]["pct_left"] == 95
    assert await alerts(ctl, sink) == [
        ("claude 5h", "quota_warning"),
        ("claude 5h", "quota_exhausted"),
        ("claude 5h", "quota_reset"),
    ]

    # No reset time known: no telling until when, so nothing is recorded.
    unknown = {**later, "used": 80, "resets_at": None}
    await report(ctl, model_name="claude", family="claude", pools=[unknown])
    ctl.services.bus.publish(failed)
    assert (await summary(ctl))["claude 5h"]["pct_left"] == 20


async def test_a_report_still_naming_a_past_reset_renews_once(
    quota_ctl: Any, clock: FakeClock
) -> None:
    """An idle session's status line redraws the last figures it had, with a reset time now
    past: the first such report renews the pool, the same report again changes nothing."""
    ctl, sink = quota_ctl
    passed = clock() - 600
    stale = [{"name": "p", "used": 75, "limit": 100, "resets_at": passed}]
    for _ in range(3):
        await report(ctl, model_name="m", pools=stale)
        clock.advance(5)
    assert await alerts(ctl, sink) == [("p", "quota_warning")]
