"""The LLM usage page: tokens and cost by model, feature and bot over the chosen span, as
columns over time and bars; and the usage service's reads behind it."""

from __future__ import annotations

import re
import time

import pytest

from chatops.records.web import Role
from chatops.services.errors import Invalid
from tests.conftest import RawClient, register
from tests.web.conftest import Site


async def log(
    client: RawClient, n: str, channel: str, model: str, feature: str, **values: float
) -> None:
    reply = await client.request(
        {
            "id": n,
            "type": "llm_usage",
            "channel": channel,
            "model": model,
            "feature": feature,
            **values,
        }
    )
    assert reply["ok"], reply


async def two_bots_with_usage(site: Site) -> RawClient:
    """alpha: one call now on m-now; bravo: one three hours and a half ago on m-old (halfway
    through a slice of an hour, whatever the test's pace)."""
    client = await register(site.settings, "alpha", "bravo")
    await log(
        client, "1", "alpha", "m-now", "faq", tokens_in=150, tokens_out=50, estimated_cost=0.3
    )
    earlier = time.time() - 3.5 * 3600
    await log(
        client, "2", "bravo", "m-old", "summary",
        tokens_in=1000, tokens_out=0, estimated_cost=2.0, ts=earlier,
    )  # fmt: skip
    await site.ctl.store.flush()
    return client


def columns(text: str, css: str) -> int:
    return len(re.findall(rf'<rect class="{css}" ', text))


async def test_the_span_decides_which_calls_count(site: Site) -> None:
    client = await two_bots_with_usage(site)
    viewer = await site.signed_in(Role.VIEWER)

    hour = await viewer.get("/usage?span=1h")
    assert hour.status == 200
    assert "m-now" in hour.text and "m-old" not in hour.text
    assert "<strong>1</strong> calls" in hour.text
    assert "<strong>150</strong> tokens in" in hour.text
    assert "$0.3000" in hour.text
    assert columns(hour.text, "tokens") == 1 and columns(hour.text, "cost") == 1

    day = await viewer.get("/usage?span=24h")
    assert "m-now" in day.text and "m-old" in day.text
    assert "<strong>2</strong> calls" in day.text
    assert "$2.3000" in day.text
    # One column per slice that had a call: now, and three hours and a half ago.
    assert columns(day.text, "tokens") == 2 and columns(day.text, "cost") == 2
    for heading in ("By model", "By feature", "By bot"):
        assert f"<h2>{heading}</h2>" in day.text
    assert 'href="/usage?span=24h&amp;bot=bravo"' in day.text
    await client.close()


async def test_one_bots_usage_alone(site: Site) -> None:
    client = await two_bots_with_usage(site)
    viewer = await site.signed_in(Role.VIEWER)
    alpha = await viewer.get("/usage?span=7d&bot=alpha")
    assert "m-now" in alpha.text and "m-old" not in alpha.text
    assert "<h2>By bot</h2>" not in alpha.text
    assert '<strong class="subject">alpha</strong>' in alpha.text
    fragment = await viewer.get("/usage?span=7d&bot=alpha&part=live")
    assert fragment.status == 200
    assert "<html" not in fragment.text and "m-now" in fragment.text
    # An unknown span is the default one, not an error.
    assert "last 24h" in (await viewer.get("/usage?span=forever")).text
    await client.close()


async def test_the_timeline_puts_each_call_in_its_slice(site: Site) -> None:
    client = await two_bots_with_usage(site)
    usage = site.services.usage
    slices = await usage.timeline(6, 6)
    assert len(slices) == 6
    assert [s.calls for s in slices] == [0, 0, 1, 0, 0, 1]
    assert slices[2].tokens_in == 1000 and slices[2].cost == pytest.approx(2.0)
    assert slices[-1].tokens_out == 50
    assert slices[1].start - slices[0].start == pytest.approx(3600)
    by_bot = await usage.breakdown_over(24, "bot")
    assert [(g.name, g.calls) for g in by_bot] == [("bravo", 1), ("alpha", 1)]
    assert [g.name for g in await usage.breakdown_over(24, "bot", limit=1)] == ["bravo"]
    assert [g.name for g in await usage.breakdown_over(1, "model")] == ["m-now"]
    with pytest.raises(Invalid):
        await usage.breakdown_over(0, "model")
    await client.close()
