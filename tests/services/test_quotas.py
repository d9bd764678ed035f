"""Budgets computed from usage: thresholds, hysteresis, one alert per crossing per period,
calendar rollovers in a time zone, rolling windows, and a restart that forgets nothing. All on
an injected clock: nothing sleeps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chatops.alerts.delivery import AlertDelivery
from chatops.alerts.quotas import QuotaAlerts
from chatops.alerts.router import AlertRouter
from chatops.alerts.silences import SilenceService
from chatops.config import AlertsConfig
from chatops.config.quotas import BudgetConfig, QuotasConfig
from chatops.runtime.bus import EventBus
from chatops.services.errors import Invalid, NotFound
from chatops.services.ownership import Ownership
from chatops.services.quotas.levels import LevelTracker
from chatops.services.quotas.service import QuotaService
from chatops.services.usage import UsageLogged
from chatops.store import Store
from tests.conftest import FakeClock, RecordingSink, wait_for

TOKYO = ZoneInfo("Asia/Tokyo")


class Quotas:
    def __init__(self, store: Store, clock: FakeClock, *budgets: BudgetConfig) -> None:
        self.store, self.clock = store, clock
        self.bus = EventBus()
        alerts = AlertsConfig(repeat_interval=0)
        self.delivery = AlertDelivery(store, alerts, clock=clock)
        self.sink = RecordingSink()
        self.delivery.add_sink(self.sink)
        self.silences = SilenceService(store, clock=clock)
        self.router = AlertRouter(store, alerts, self.delivery, self.silences, clock=clock)
        self.quota_alerts = QuotaAlerts(self.router, self.bus)
        config = QuotasConfig(budgets=list(budgets))
        self.service = QuotaService(store, config, self.bus, Ownership(), clock=clock)

    async def start(self) -> Quotas:
        await self.silences.start()
        await self.router.start()
        await self.delivery.start()
        await self.service.start()
        await self.service.loaded.wait()  # the totals are rebuilt after start returns
        return self

    def use(self, cost: float, *, model: str = "claude-sonnet", bot: str = "kissbot") -> None:
        """A usage event as the usage service publishes it (and stores it, for restarts)."""
        now = self.clock()
        self.store.usage.add_llm_usage(now, bot, model, None, 10, 20, None, cost, received_at=now)
        self.bus.publish(UsageLogged(now, bot, model, None, 10, 20, cost))

    async def alerts(self) -> list[str]:
        await self.store.flush()
        await wait_for(lambda: not self.delivery.pending, timeout=10)
        return [alert.kind for alert in self.sink.alerts]

    async def close(self) -> None:
        self.service.close()
        await self.store.flush()
        await self.delivery.close()


@pytest.fixture
def quotas(store: Store, clock: FakeClock) -> Any:
    made: list[Quotas] = []

    async def make(*budgets: BudgetConfig) -> Quotas:
        harness = await Quotas(store, clock, *budgets).start()
        made.append(harness)
        return harness

    return make, made


@pytest.fixture
async def make(quotas: Any) -> AsyncIterator[Any]:
    factory, made = quotas
    yield factory
    for harness in made:
        await harness.close()


async def test_warning_critical_exhausted_once_each(make: Any) -> None:
    q = await make(BudgetConfig(name="monthly", limit=100, metric="cost", period="month"))
    q.use(60)
    assert await q.alerts() == []
    q.use(15)  # 25 % left
    assert await q.alerts() == ["quota_warning"]
    warning = q.sink.alerts[0]
    assert warning.title == "25% left of budget monthly" and warning.severity == "warning"
    assert "75 of 100 cost per month" in warning.body and "resets" in warning.body
    q.use(1)  # still a warning: nothing new
    q.use(15)  # 9 % left
    q.use(9)  # exhausted
    assert await q.alerts() == ["quota_warning", "quota_critical", "quota_exhausted"]
    ids = {alert.incident_id for alert in q.sink.alerts}
    assert len(ids) == 1 and q.sink.alerts[1].severity == "critical"
    q.use(5)  # beyond the limit: already said
    assert len(await q.alerts()) == 3


async def test_scope_counts_only_matching_usage(make: Any) -> None:
    q = await make(
        BudgetConfig(name="claude", limit=10, metric="calls", period="day", family="claude"),
        BudgetConfig(name="bot-b", limit=100, metric="cost", period="day", bot="b"),
    )
    for _ in range(8):
        q.use(1, model="gemini-3-pro")
    assert q.service.budgets["claude"].total == 0
    for _ in range(8):
        q.use(1, model="claude-opus-4")
    assert q.service.budgets["claude"].total == 8  # 20 % left: warning
    assert q.service.budgets["bot-b"].total == 0
    assert await q.alerts() == ["quota_warning"]


async def test_rolling_window_with_hysteresis(make: Any, clock: FakeClock) -> None:
    q = await make(BudgetConfig(name="5h", limit=100, metric="cost", window="5h"))
    q.use(40)
    clock.advance(3600)
    q.use(31)  # 29 % left
    assert await q.alerts() == ["quota_warning"]
    clock.advance(4 * 3600 + 60)  # the first 40 left the window (by the minute): 69 % left
    q.service.tick()
    assert await q.alerts() == ["quota_warning", "quota_reset"]
    q.use(40)  # 29 % left again: a new episode, a new alert
    assert await q.alerts() == ["quota_warning", "quota_reset", "quota_warning"]


def test_hovering_at_a_threshold_does_not_repeat() -> None:
    levels = LevelTracker([30, 10], hysteresis=2)
    assert levels.observe(29.5) == 1
    for pct in (30.5, 29.9, 31.9, 29.0, 31.0):  # within 2 points of 30: still a warning
        assert levels.observe(pct) is None and levels.level == 1
    assert levels.observe(32.5) is None and levels.level == 0
    assert levels.observe(29.0) is None  # the same period: this crossing was announced
    assert levels.observe(9.0) == 2 and levels.observe(0.0) == 3
    assert levels.new_period() is True and levels.level == 0
    assert levels.observe(29.0) == 1


async def test_calendar_day_rolls_over_at_local_midnight(make: Any, clock: FakeClock) -> None:
    clock.now = datetime(2027, 1, 15, 23, 0, tzinfo=TOKYO).timestamp()  # 14:00 UTC
    q = await make(
        BudgetConfig(name="daily", limit=10, metric="cost", period="day", timezone="Asia/Tokyo")
    )
    q.use(8)
    assert await q.alerts() == ["quota_warning"]
    clock.advance(30 * 60)  # 23:30 in Tokyo, 14:30 UTC: the same day there
    q.service.tick()
    assert q.service.budgets["daily"].total == 8
    clock.advance(30 * 60 + 1)  # 00:00:01 in Tokyo
    q.service.tick()
    assert q.service.budgets["daily"].total == 0
    assert await q.alerts() == ["quota_warning", "quota_reset"]
    assert "new period" in q.sink.alerts[-1].body
    q.use(8)  # a new period: the same crossing alerts again
    assert await q.alerts() == ["quota_warning", "quota_reset", "quota_warning"]


async def test_a_restart_keeps_totals_and_open_incidents(store: Store, clock: FakeClock) -> None:
    budget = BudgetConfig(name="monthly", limit=100, metric="cost", period="month")
    first = await Quotas(store, clock, budget).start()
    first.use(75)
    assert await first.alerts() == ["quota_warning"]
    await first.close()

    again = await Quotas(store, clock, budget).start()
    try:
        assert again.service.budgets["monthly"].total == 75  # rebuilt from llm_usage
        assert ("monthly", "quota") in again.router.incidents
        again.use(1)  # still a warning: not announced twice across the restart
        again.use(15)  # 9 % left
        assert await again.alerts() == ["quota_critical"]
        assert again.sink.alerts[0].incident_id == first.sink.alerts[0].incident_id
        [view] = again.service.summary()
        assert view.level == "critical" and view.pct_left == pytest.approx(9)
    finally:
        await again.close()


async def test_set_budget_is_validated_persisted_and_applied(
    store: Store, clock: FakeClock
) -> None:
    budget = BudgetConfig(name="monthly", limit=100, metric="cost", period="month")
    q = await Quotas(store, clock, budget).start()
    q.use(60)
    with pytest.raises(NotFound, match="no budget"):
        q.service.set_budget("nope", by="op", limit=10)
    with pytest.raises(Invalid, match="between 0 and 100"):
        q.service.set_budget("monthly", by="op", thresholds=[150])
    with pytest.raises(Invalid, match="new limit or new thresholds"):
        q.service.set_budget("monthly", by="op")
    view = q.service.set_budget("monthly", by="op", limit=80, thresholds=[50, 20])
    assert view.pct_left == 25 and view.level == "warning"  # 60 of 80: below 50 %
    assert await q.alerts() == ["quota_warning"]
    await q.close()
    again = await Quotas(store, clock, budget).start()
    try:
        restored = again.service.budgets["monthly"]
        assert restored.config.limit == 80 and restored.levels.thresholds == [50, 20]
    finally:
        await again.close()


async def test_history_is_raw_for_a_day_then_in_five_minute_steps(
    store: Store, clock: FakeClock
) -> None:
    tables = store.quotas
    start = clock() - 3 * 86400
    for minute in range(60):  # an hour of samples, two days ago: 12 five-minute steps
        tables.add_sample(start + minute * 60, "p", 50.0)
    for minute in range(10):  # ten minutes of today's: kept raw
        tables.add_sample(clock() - 600 + minute * 60, "p", 40.0)
    tables.add_sample(clock() - 100 * 86400, "p", 10.0)  # beyond history_max_days
    await store.flush()
    removed = await tables.compact_history(clock(), max_days=90)
    kept = await tables.history("p", 0)
    assert removed == 60 - 12 + 1 and len(kept) == 12 + 10
