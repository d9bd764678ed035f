"""Where a login link leads (:func:`dashboard_url`), built once for ``/web login`` and
``chatops web login`` alike, and no link at all while no dashboard is served."""

from __future__ import annotations

import pytest

from chatops.config import WebConfig
from chatops.records.web import Role
from chatops.services.web_sessions import DashboardOff, WebSessions, dashboard_url
from chatops.store import Store
from tests.conftest import FakeClock


def host() -> str:
    return "ops-box"


@pytest.mark.parametrize(
    ("public_url", "listen", "bound", "expected"),
    [
        (None, "127.0.0.1:9464", [("127.0.0.1", 9464)], "http://127.0.0.1:9464"),
        (None, "127.0.0.1:0", [("127.0.0.1", 40123)], "http://127.0.0.1:40123"),
        (None, "localhost:9464", [("127.0.0.1", 9464)], "http://localhost:9464"),
        (None, "[::1]:9464", [("::1", 9464)], "http://[::1]:9464"),
        (None, "[::1]:0", [("::1", 40124)], "http://[::1]:40124"),
        (None, "0.0.0.0:9464", [("0.0.0.0", 9464)], "http://ops-box:9464"),
        (None, "[::]:9464", [("::", 9464)], "http://ops-box:9464"),
        ("https://ops.example.org/", "127.0.0.1:0", [("127.0.0.1", 1)], "https://ops.example.org"),
    ],
)
def test_the_dashboard_s_address(
    public_url: str | None, listen: str, bound: list[tuple[str, int]], expected: str
) -> None:
    assert dashboard_url(public_url, listen, bound, hostname=host) == expected


async def test_a_link_is_a_url_once_the_dashboard_listens_and_refused_before(
    store: Store, clock: FakeClock
) -> None:
    sessions = WebSessions(store, WebConfig(link_minutes=3), clock=clock)
    await sessions.start()
    with pytest.raises(DashboardOff, match=r"the web dashboard is off: http\.listen is empty"):
        sessions.login_link("alice", Role.VIEWER, discord_id=7)
    await store.flush()
    assert (await store.web.links(clock())).rows == []  # nothing issued

    sessions.listening("127.0.0.1:0", [("127.0.0.1", 40125)])
    link = sessions.login_link("alice", Role.VIEWER, discord_id=7)
    prefix = "http://127.0.0.1:40125/login/"
    assert link.url.startswith(prefix) and link.expires_at == clock() + 180
    assert (link.person, link.role) == ("alice", Role.VIEWER)
    opened = sessions.redeem(link.url.removeprefix(prefix), "test")
    assert (opened.session.person, opened.session.discord_id) == ("alice", 7)
