"""The live stream: a page is told of changes only while its session holds."""

from __future__ import annotations

import asyncio

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


async def test_a_stopping_controller_ends_open_streams_at_once(site: Site) -> None:
    """An open dashboard tab must not hold a stop (the listener's cleanup waits for its
    handlers): the stream ends as the door closes."""
    viewer = await site.signed_in(Role.VIEWER, person="watcher")
    async with viewer.http.get(viewer.base + "/events?topics=fleet") as events:
        assert (await events.content.readline()).startswith(b"retry:")
        stopping = asyncio.create_task(site.ctl.stop())
        rest = await asyncio.wait_for(events.content.read(), 10)  # until the stream ends
        await asyncio.wait_for(stopping, 10)
    assert b"data:" not in rest
