"""Several hosts in one fleet's views: ``host/name`` only where two hosts share a name, a host
column in ``chatops status`` and a host filter there and in ``/status``; the hub's rules for
mirroring other hosts' bots, driven directly with an injected clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatops.cli import format_fleet_table
from chatops.records.fleet import BotState, BotStatus
from chatops.records.hosts import BotReport, qualified, short_names, split_qualified
from chatops.services.errors import Invalid
from chatops.services.hosts import HostDown, HostUp
from cogs.ui.embeds import fleet_pages
from tests.conftest import FakeClock, make_settings, new_controller


def state(channel: str, host: str, status: BotStatus = BotStatus.ONLINE) -> BotState:
    return BotState(channel, 1, status, 0.0, 0.0, 0.0, host=host)


def test_names_are_qualified_only_where_two_hosts_share_one() -> None:
    channels = ["edge-a/worker", "edge-b/worker", "edge-b/scraper", "local"]
    assert short_names(channels) == {
        "edge-a/worker": "edge-a/worker",
        "edge-b/worker": "edge-b/worker",
        "edge-b/scraper": "scraper",
        "local": "local",
    }
    assert split_qualified(qualified("edge-a", "x")) == ("edge-a", "x")
    assert split_qualified("plain") == (None, "plain")


def test_the_status_table_has_a_host_column_and_short_names() -> None:
    bots = [
        {"channel": "edge-a/worker", "host": "edge-a", "status": "online", "pid": 1},
        {"channel": "edge-b/worker", "host": "edge-b", "status": "online", "pid": 3},
        {"channel": "edge-b/scraper", "host": "edge-b", "status": "down", "pid": 2},
    ]
    lines = format_fleet_table(bots, now=0).splitlines()
    assert lines[0].split()[:3] == ["CHANNEL", "HOST", "STATUS"]
    assert lines[1].split()[:3] == ["edge-a/worker", "edge-a", "online"]
    assert lines[3].split()[:3] == ["scraper", "edge-b", "down"]


def test_status_pages_name_the_host_in_a_fleet_of_several() -> None:
    [page] = fleet_pages(
        [state("edge-a/worker", "edge-a"), state("edge-b/worker", "edge-b")], title="t", now=0
    )
    assert "**edge\\-a/worker** on edge\\-a" in (page.description or "")
    [single] = fleet_pages([state("worker", "box")], title="t", now=0)
    assert " on " not in (single.description or "")


def report(name: str, status: str = "online", changed_at: float = 1.0, pid: int = 10) -> BotReport:
    return BotReport(name, pid, status, changed_at, changed_at, changed_at)


@pytest.fixture
async def hub(workdir: Path, clock: FakeClock):  # type: ignore[no-untyped-def]
    settings = make_settings(workdir)
    settings.nats.host_timeout = 10
    ctl = new_controller(settings, clock=clock, role="hub")
    await ctl.start()
    try:
        yield ctl
    finally:
        await ctl.stop()


async def test_an_older_report_never_wins(hub, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    hosts, fleet = hub.services.hosts, hub.services.fleet
    assert hosts.report("edge-a", report("w", "down", changed_at=5.0))
    assert not hosts.report("edge-a", report("w", "online", changed_at=4.0))  # a replay
    assert fleet.bots["edge-a/w"].status is BotStatus.DOWN
    assert hosts.report("edge-a", report("w", "online", changed_at=6.0))
    assert fleet.bots["edge-a/w"].status is BotStatus.ONLINE


async def test_a_silent_host_is_one_event_and_its_bots_unreachable(  # type: ignore[no-untyped-def]
    hub, clock: FakeClock
) -> None:
    hosts, fleet, bus = hub.services.hosts, hub.services.fleet, hub.services.bus
    seen: list[object] = []
    bus.subscribe(HostDown, seen.append)
    bus.subscribe(HostUp, seen.append)
    hosts.beat("edge-a", [report("w"), report("v"), report("gone", "offline")])
    clock.advance(9)
    hub.services.timers.run_due()
    assert seen == []
    clock.advance(2)
    hub.services.timers.run_due()
    [down] = seen
    assert isinstance(down, HostDown) and set(down.bots) == {"w", "v", "gone"}
    assert fleet.bots["edge-a/w"].status is BotStatus.UNREACHABLE
    assert fleet.bots["edge-a/gone"].status is BotStatus.OFFLINE
    # Silent bots of another host are never judged by the hub's own deadlines.
    clock.advance(600)
    hub.services.timers.run_due()
    fleet.reap()
    assert fleet.bots["edge-a/w"].status is BotStatus.UNREACHABLE
    # Back: its full list wins over the hub's "unreachable", though no newer than before.
    assert hosts.needs_resync("edge-a")
    hosts.resync("edge-a", [report("w")])
    assert isinstance(seen[-1], HostUp)
    assert fleet.bots["edge-a/w"].status is BotStatus.ONLINE
    assert fleet.bots["edge-a/v"].status is BotStatus.OFFLINE  # not in the list: left


async def test_a_hub_refuses_local_names_that_look_like_another_hosts(hub) -> None:  # type: ignore[no-untyped-def]
    from chatops.services.callers import Caller

    with pytest.raises(Invalid, match="separates an edge's host"):
        hub.services.fleet.register(Caller(pid=None), "edge-a/w", 1, {})


async def test_a_bare_name_that_only_another_host_has_is_pointed_at(hub) -> None:  # type: ignore[no-untyped-def]
    from chatops.services.recovery.restarts import RestartError

    hub.services.hosts.report("edge-a", report("w"))
    with pytest.raises(RestartError, match="No bot called 'w' \\(other hosts have edge-a/w\\)"):
        hub.services.restarts.require_known("w")


async def test_a_restarted_hub_gives_each_known_host_its_timeout(
    workdir: Path, clock: FakeClock
) -> None:
    settings = make_settings(workdir)
    settings.nats.host_timeout = 10
    first = new_controller(settings, clock=clock, role="hub")
    await first.start()
    first.services.hosts.beat("edge-a", [report("w"), report("v")])
    await first.stop()

    again = new_controller(settings, clock=clock, role="hub")
    await again.start()
    try:
        hosts, bus = again.services.hosts, again.services.bus
        downs: list[HostDown] = []
        bus.subscribe(HostDown, downs.append)
        assert hosts.bots_of("edge-a") == ["edge-a/v", "edge-a/w"]
        assert again.services.fleet.bots["edge-a/w"].status is BotStatus.ONLINE
        # The edge's clock is its own: a report in its time is taken, whatever the hub's
        # stored status times say.
        assert hosts.report("edge-a", report("v", "down", changed_at=2.0))
        assert again.services.fleet.bots["edge-a/v"].status is BotStatus.DOWN
        clock.advance(11)
        again.services.timers.run_due()
        [down] = downs
        assert (down.host, set(down.bots)) == ("edge-a", {"v", "w"})  # v: down, and alerted
        assert again.services.fleet.bots["edge-a/w"].status is BotStatus.UNREACHABLE
    finally:
        await again.stop()
