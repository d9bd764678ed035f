"""What every page of the dashboard shares: the nav, a session to see it, live fragments, a
bot's charts, and hostile names shown as text."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from chatops.config import Settings
from chatops.records.web import Role
from chatops.services.recovery import diagnostics as recovery_diagnostics
from tests.conftest import register
from tests.test_metrics import http_settings, populate
from tests.web.conftest import Site

HOSTILE = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"
PAGES = ["/usage", "/quotas", "/incidents", "/cache", "/diagnostics"]


@pytest.fixture
def web_settings(workdir) -> Settings:  # type: ignore[no-untyped-def]
    settings = http_settings(workdir)
    settings.monitoring.metrics_interval = 0.001  # every heartbeat is a point of the charts
    return settings


async def test_every_page_is_in_the_nav_and_needs_a_session(site: Site) -> None:
    anonymous = await site.anonymous()
    for path in PAGES:
        page = await anonymous.get(path)
        assert page.status == 401 and "Sign in" in page.text
        fragment = await anonymous.get(path + "?part=live")
        assert fragment.status == 401
    viewer = await site.signed_in(Role.VIEWER)
    home = await viewer.get("/")
    for path in PAGES:
        assert f'<a href="{path}">' in home.text
    usage = await viewer.get("/usage")
    assert '<a href="/usage" aria-current="page">' in usage.text


async def test_every_live_fragment_renders_alone(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    # populate()'s bots are a bare socket that answers no ping: do not wait long for one.
    monkeypatch.setattr(recovery_diagnostics, "BOT_PING_TIMEOUT", 0.1)
    client = await populate(site.ctl, site.settings)
    viewer = await site.signed_in(Role.VIEWER)
    for path in [*PAGES, "/bot?name=alpha"]:
        fragment = await viewer.get(path + ("&" if "?" in path else "?") + "part=live")
        assert fragment.status == 200, (path, fragment.text)
        assert "<html" not in fragment.text and "<header" not in fragment.text, path
        assert fragment.headers["Content-Security-Policy"].startswith("default-src 'none'")
    charts = await viewer.get("/bot?name=alpha&part=charts")
    assert charts.status == 200 and "<html" not in charts.text
    await client.close()


async def test_a_bots_rss_and_cpu_over_an_hour_a_day_or_a_week(site: Site) -> None:
    client = await register(site.settings, "alpha", rss=100.0)
    for n, rss in enumerate([120.0, 140.0]):
        reply = await client.request(
            {"id": f"hb{n}", "type": "heartbeat", "channel": "alpha", "rss_mb": rss, "cpu_pct": 5.0}
        )
        assert reply["ok"]
    await site.ctl.store.flush()
    viewer = await site.signed_in(Role.VIEWER)

    hour = await viewer.get("/bot?name=alpha&span=hour&part=charts")
    assert 'data-span="hour"' in hour.text
    assert '<polyline class="rss"' in hour.text and '<polyline class="cpu"' in hour.text
    assert ">154 MB</text>" in hour.text  # the RSS axis tops a tenth over the highest, 140 MB
    assert "-1h 0m</text>" in hour.text

    week = await viewer.get("/bot?name=alpha&span=week")
    assert 'data-src="/bot?span=week&amp;part=charts&amp;name=alpha"' in week.text
    assert 'data-src="/bot?span=week&amp;part=live&amp;name=alpha"' in week.text
    assert '<a href="?name=alpha&amp;span=week" aria-current="true">' in week.text
    assert "-7d 0h</text>" in week.text
    assert 'id="bot-status">online<' in week.text

    assert (await viewer.get("/bot?name=nobody&part=charts")).status == 404
    assert (await viewer.get("/bot?name=nobody")).status == 404
    await client.close()


async def test_hostile_names_are_text_on_every_page(site: Site) -> None:
    client = await register(site.settings, HOSTILE)
    for n, message in enumerate(
        [
            {"type": "llm_usage", "channel": HOSTILE, "model": HOSTILE, "feature": HOSTILE},
            {
                "type": "model_usage",
                "model_name": HOSTILE,
                "channel": HOSTILE,
                "pools": [{"name": HOSTILE, "used": 1, "limit": 10}],
            },
        ]
    ):
        reply = await client.request({"id": f"m{n}", **message})
        assert reply["ok"], reply
    await site.ctl.store.flush()
    admin = await site.signed_in(Role.ADMIN)
    for path in [
        "/usage",
        "/quotas",
        f"/bot?name={quote(HOSTILE)}",
        "/usage?bot=" + quote(HOSTILE),
    ]:
        page = await admin.get(path)
        assert page.status == 200, path
        assert HOSTILE not in page.text, path
        assert ESCAPED in page.text, path
    await client.close()


async def test_filtering_keeps_the_sort_order(site: Site) -> None:
    viewer = await site.signed_in(Role.VIEWER)
    page = await viewer.get("/?sort=rss&order=desc")
    form = page.text.split('<form class="filters"', 1)[1].split("</form>", 1)[0]
    assert 'name="sort" value="rss"' in form and 'name="order" value="desc"' in form
