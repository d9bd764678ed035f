"""The live stream: a page is told of changes only while its session holds."""

from __future__ import annotations

from chatops.records.web import Role
from tests.conftest import went_down
from tests.web.conftest import Site, next_topics


async def test_a_revoked_session_stops_being_told(site: Site) -> None:
    viewer = await site.signed_in(Role.VIEWER, person="watcher")
    sessions = site.ctl.services.web_sessions
    async with viewer.http.get(viewer.base + "/events?topics=fleet") as events:
        assert (await events.content.readline()).startswith(b"retry:")
        site.ctl.services.bus.publish(went_down("alpha"))
        assert "fleet" in (await next_topics(events.content)).split()  # told while signed in
        sessions.revoke(sessions.sessions()[0].id)
        site.ctl.services.bus.publish(went_down("bravo"))
        try:
            told = await next_topics(events.content)
        except ConnectionResetError:
            told = None  # the stream ended instead
    assert told is None
