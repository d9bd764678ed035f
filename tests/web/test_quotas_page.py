"""The quotas page: every pool and budget with its bar, reset, burn rate, runway and chart."""

from __future__ import annotations

import re

from chatops.records.web import Role
from chatops.services.quotas.runway import Runway
from chatops.services.quotas.service import QuotaDetail, QuotaView
from chatops.web.quotas import chart_of
from chatops.web.render import clock_text
from tests.test_metrics import populate
from tests.web.conftest import Site


def card(text: str, name: str) -> str:
    found = re.search(
        rf'<article class="quota[^"]*" data-quota="{name}">(.*?)</article>', text, re.S
    )
    assert found, f"no card for {name}"
    return found.group(1)


async def test_every_pool_and_budget_with_its_bar_reset_runway_and_chart(site: Site) -> None:
    client = await populate(site.ctl, site.settings)
    viewer = await site.signed_in(Role.VIEWER)
    shown = await viewer.get("/quotas")
    assert shown.status == 200

    pool = card(shown.text, "five_hour")
    assert "60% left" in pool and 'aria-label="60%"' in pool
    assert "40 of 100 credits" in pool
    assert "claude-sonnet" in pool  # its models
    assert "burn rate not known yet" in pool  # the runway, as /quota summary says it
    assert '<svg class="chart"' in pool

    budget = card(shown.text, "daily")
    assert "50% left" in budget and "0.5 of 1 cost" in budget
    view = next(v for v in site.services.quotas.summary() if v.name == "daily")
    assert view.resets_at is not None
    assert re.search(rf"{re.escape(clock_text(view.resets_at))} \(in \d+h \d+m\)", budget)
    assert "Alerts at</th><td>30%, 10% left" in budget
    # The chart ends at what is left now, whatever the last minute's sample said.
    assert re.search(r'<(polyline|circle) class="quota"', budget)

    fragment = await viewer.get("/quotas?span=7d&part=live")
    assert fragment.status == 200 and "<html" not in fragment.text
    assert 'data-quota="five_hour"' in fragment.text
    page = await viewer.get("/quotas?span=90m")
    assert (
        'data-live="quotas"' in page.text
        and 'data-src="/quotas?span=90m&amp;part=live"' in page.text
    )
    await client.close()


def detail(
    samples: list[tuple[float, float]],
    forecast: tuple[tuple[float, float], tuple[float, float]] | None,
) -> QuotaDetail:
    view = QuotaView(
        name="q", kind="budget", used=60, limit=100, unit="cost", pct_left=40, level="ok",
        resets_at=None, span="per day", runway=Runway(10.0, None, None), thresholds=(30, 10),
    )  # fmt: skip
    return QuotaDetail(view, samples, [30.0, 10.0], [], forecast)


def test_the_forecast_is_cut_where_the_chart_ends() -> None:
    now = 1_800_000_000.0
    # Runs out in ten hours; a 90-minute chart looks 45 minutes ahead.
    drawn = chart_of(detail([(now - 3600, 50.0)], ((now, 40.0), (now + 36000, 0.0))), now, "90m")
    assert drawn is not None
    forecast = re.search(r'<polyline class="forecast" points="([^"]+)"/>', drawn)
    assert forecast
    (x0, y0), (x1, y1) = [tuple(map(float, p.split(","))) for p in forecast.group(1).split()]
    assert round(x0, 1) == round(64 + 90 / 135 * 646, 1)  # now, two thirds across
    assert abs((138 - y0) / 128 * 100 - 40.0) < 0.5  # from what is left now
    assert x1 == 710.0  # to the chart's right edge
    # 45 minutes of a 4-points-an-hour burn: 37% left there, not 0.
    assert abs((138 - y1) / 128 * 100 - 37.0) < 0.5
    assert '<line class="level critical"' in drawn and '<line class="level warning"' in drawn
    assert chart_of(detail([], None), now, "90m") is None
