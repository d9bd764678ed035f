"""Incidents and silences: open incidents and silences for everyone; silences made and ended
from the page for admins only, through the silence service, and told to open pages at once."""

from __future__ import annotations

import re
import time

from chatops.records.alerts import Severity
from chatops.records.web import Role
from tests.conftest import register
from tests.web.conftest import Dashboard, Site, next_topics

HOSTILE = "<img src=x onerror=alert(1)>"


async def test_a_viewer_sees_incidents_and_silences_escaped_and_no_forms(site: Site) -> None:
    site.services.alerts.problem(
        HOSTILE,
        "down",
        state="down",
        severity=Severity.CRITICAL,
        detail="<b>gone</b>",
        ts=time.time(),
    )
    client = await register(site.settings, "alpha")
    site.services.silences.silence_bot("alpha", 3600, created_by="bob", reason="<i>deploy</i>")
    viewer = await site.signed_in(Role.VIEWER)
    shown = await viewer.get("/incidents")
    assert shown.status == 200
    assert HOSTILE not in shown.text and "<b>gone</b>" not in shown.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in shown.text
    assert "&lt;b&gt;gone&lt;/b&gt;" in shown.text
    assert '<span class="badge critical">critical</span>' in shown.text
    assert 'id="incident-count">1<' in shown.text
    assert "&lt;i&gt;deploy&lt;/i&gt;" in shown.text and ">bob<" in shown.text
    assert 'data-live="incidents"' in shown.text
    # Nothing a viewer could press.
    assert 'action="/silences' not in shown.text and "<form" not in shown.text.split("</header>")[1]
    # The incident's alert is among the recent ones (its title, escaped).
    recent = shown.text.split('id="recent-alerts"', 1)[1].split("</table>", 1)[0]
    assert "&lt;img src=x onerror=alert(1)&gt; is down" in recent
    fragment = await viewer.get("/incidents?part=live")
    assert fragment.status == 200 and "<html" not in fragment.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in fragment.text
    await client.close()


async def silence_alpha(admin: Dashboard, **extra: str) -> str:
    page = await admin.post(
        "/silences", {"bot": "alpha", "duration": "2h", "reason": "deploy", **extra}
    )
    assert page.status == 200, page.text
    return page.text


async def test_an_admin_silences_a_bot_and_ends_it_and_open_pages_hear_of_it(site: Site) -> None:
    client = await register(site.settings, "alpha")
    admin = await site.signed_in(Role.ADMIN)
    page = await admin.get("/incidents")
    assert 'id="silence-form"' in page.text and 'id="maintenance-form"' in page.text

    async with admin.http.get(admin.base + "/events?topics=incidents") as events:
        assert (await events.content.readline()).startswith(b"retry:")  # it listens now
        done = await silence_alpha(admin, kind="down")
        assert await next_topics(events.content) == "incidents"

    assert re.search(
        r'<p id="done">Silenced #1 alpha \(down alerts only\) until .* — for 2h 0m\.</p>', done
    )
    [made] = site.services.silences.active()
    assert (made.subject, made.kind, made.reason) == ("alpha", "down", "deploy")
    assert made.created_by == "alice (web)"
    assert made.until - made.created_at == 7200
    listed = await admin.get("/incidents")
    assert f'action="/silences/{made.id}/end"' in listed.text

    ended = await admin.post(f"/silences/{made.id}/end", {})
    assert ended.status == 200 and f"Silence #{made.id} ended." in ended.text
    assert site.services.silences.active() == []
    again = await admin.post(f"/silences/{made.id}/end", {})
    assert again.status == 404 and "No active silence" in again.text
    await client.close()


async def test_maintenance_needs_its_tick_and_the_service_keeps_its_limits(site: Site) -> None:
    client = await register(site.settings, "alpha")
    admin = await site.signed_in(Role.ADMIN)
    unticked = await admin.post("/silences/maintenance", {"duration": "1h"})
    assert unticked.status == 400 and "tick the box" in unticked.text
    too_long = await admin.post("/silences/maintenance", {"duration": "31d", "confirm": "yes"})
    assert too_long.status == 400 and "at most 30 days" in too_long.text
    nonsense = await admin.post("/silences", {"bot": "alpha", "duration": "soon"})
    assert nonsense.status == 400 and "invalid duration" in nonsense.text
    unknown = await admin.post("/silences", {"bot": "nobody", "duration": "1h"})
    assert unknown.status == 404
    assert site.services.silences.active() == []

    ticked = await admin.post("/silences/maintenance", {"duration": "30m", "confirm": "yes"})
    assert ticked.status == 200 and "everything (maintenance)" in ticked.text
    [made] = site.services.silences.active()
    assert made.subject is None and made.until - made.created_at == 1800
    await client.close()


async def test_a_forged_change_is_refused_and_changes_nothing(site: Site) -> None:
    client = await register(site.settings, "alpha")
    viewer = await site.signed_in(Role.VIEWER, person="val")
    admin = await site.signed_in(Role.ADMIN)

    # A viewer's own session and token: the role refuses.
    as_viewer = await viewer.post("/silences", {"bot": "alpha", "duration": "1h"})
    assert as_viewer.status == 403 and "admin only" in as_viewer.text
    # An admin's session without the token (another site's form): the CSRF check refuses.
    forged = await admin.post("/silences", {"bot": "alpha", "duration": "1h"}, csrf=False)
    assert forged.status == 403 and "CSRF" in forged.text
    forged = await admin.post(
        "/silences/maintenance", {"duration": "1h", "confirm": "yes"}, csrf=False
    )
    assert forged.status == 403
    assert site.services.silences.active() == []

    made = site.services.silences.silence_bot("alpha", 3600)
    assert (await viewer.post(f"/silences/{made.id}/end", {})).status == 403
    assert (await admin.post(f"/silences/{made.id}/end", {}, csrf=False)).status == 403
    assert [s.id for s in site.services.silences.active()] == [made.id]
    await client.close()
