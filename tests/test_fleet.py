"""The status state machine with an injected clock: no sleeping, exact deadlines."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chatops.config import MonitoringConfig
from chatops.records.fleet import BotStatus, FleetEvent
from chatops.runtime.bus import EventBus
from chatops.services.callers import Caller
from chatops.services.errors import NotFound
from chatops.services.fleet import FleetService
from chatops.services.ownership import Ownership
from chatops.store import Store
from tests.conftest import query


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store(workdir: Path) -> AsyncIterator[Store]:
    s = await Store.open(workdir / "fleet.db", max_delay=0)
    yield s
    await s.close()


def make_fleet(
    store: Store, clock: FakeClock, events: list[FleetEvent], **config: float
) -> FleetService:
    bus = EventBus()
    bus.subscribe(FleetEvent, events.append)
    cfg = MonitoringConfig(
        socket_path=Path("/unused"),
        database_path=store.path,
        **{"heartbeat_interval": 30, "late_grace": 10, "stale_timeout": 60, **config},
    )
    return FleetService(store, bus, cfg, Ownership(), clock=clock)


def peer() -> Caller:
    return Caller(pid=os.getpid(), local=True)


async def test_online_late_stale_then_back(store: Store) -> None:
    clock, events = FakeClock(), []
    fleet = make_fleet(store, clock, events)
    me = peer()
    fleet.register(me, "bot", os.getpid(), {})
    assert fleet.bots["bot"].status is BotStatus.ONLINE

    clock.now += 39.9
    fleet.reap()
    assert fleet.bots["bot"].status is BotStatus.ONLINE  # heartbeat_interval + grace not yet up
    clock.now += 0.1
    fleet.reap()
    assert fleet.bots["bot"].status is BotStatus.LATE
    clock.now += 19.9
    fleet.reap()
    assert fleet.bots["bot"].status is BotStatus.LATE
    clock.now += 0.1
    fleet.reap()
    assert fleet.bots["bot"].status is BotStatus.STALE

    fleet.heartbeat(me, "bot", rss_mb=10.0, cpu_pct=1.0)
    assert fleet.bots["bot"].status is BotStatus.ONLINE
    transitions = [(e.old_status, e.new_status) for e in events if e.kind == "status_changed"]
    assert transitions == [
        ("offline", "online"),
        ("online", "late"),
        ("late", "stale"),
        ("stale", "online"),
    ]

    await store.flush()
    rows = query(
        store.path,
        "SELECT old_status, new_status FROM events WHERE kind = 'status_changed' ORDER BY id",
    )
    assert rows == transitions
    assert query(store.path, "SELECT status FROM bot_status") == [("online",)]


async def test_unregister_is_offline_and_disconnect_is_down(store: Store) -> None:
    clock, events = FakeClock(), []
    fleet = make_fleet(store, clock, events)
    a, b = Caller(pid=os.getpid()), Caller(pid=os.getpid())
    fleet.register(a, "clean", os.getpid(), {})
    fleet.register(b, "crash", os.getpid(), {})
    fleet.unregister(a, "clean")
    fleet.connection_lost(a)
    fleet.connection_lost(b)
    assert fleet.bots["clean"].status is BotStatus.OFFLINE
    assert fleet.bots["crash"].status is BotStatus.DOWN
    # Silence never turns a bot that is already offline or down into late/stale.
    clock.now += 1000
    fleet.reap()
    assert fleet.bots["clean"].status is BotStatus.OFFLINE
    assert fleet.bots["crash"].status is BotStatus.DOWN


async def test_unregister_unknown_bot_is_an_error(store: Store) -> None:
    fleet = make_fleet(store, FakeClock(), [])
    with pytest.raises(NotFound, match="unknown bot 'ghost'"):
        fleet.unregister(peer(), "ghost")


async def test_restart_grace(store: Store) -> None:
    clock, events = FakeClock(), []
    first = make_fleet(store, clock, events)
    me = peer()
    for name in ("comes-back", "never-returns"):
        first.register(me, name, os.getpid(), {})
    await store.flush()

    # A new controller over the same database: both bots were alive, both get the grace.
    clock.now += 5
    events.clear()
    second = make_fleet(store, clock, events, restart_grace=30)
    await second.start()
    assert {b.status for b in second.bots.values()} == {BotStatus.ONLINE}
    clock.now += 20
    second.register(Caller(pid=os.getpid()), "comes-back", os.getpid(), {})
    second.reap()
    assert second.bots["never-returns"].status is BotStatus.ONLINE  # still inside the grace
    clock.now += 10
    second.reap()
    assert second.bots["comes-back"].status is BotStatus.ONLINE
    assert second.bots["never-returns"].status is BotStatus.DOWN
    [down] = [e for e in events if e.new_status == "down"]
    assert down.channel == "never-returns" and "restart" in (down.detail or "")


async def test_restart_marks_vanished_local_process_down_at_once(store: Store) -> None:
    clock = FakeClock()
    first = make_fleet(store, clock, [])
    first.register(Caller(pid=None), "gone", 2**22 + 12345, {})
    await store.flush()
    second = make_fleet(store, clock, [], restart_grace=300)
    await second.start()
    assert second.bots["gone"].status is BotStatus.DOWN


async def test_death_during_restart_grace_is_seen_at_once(store: Store) -> None:
    import subprocess
    import sys

    from tests.conftest import wait_for

    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        clock = FakeClock()
        first = make_fleet(store, clock, [])
        first.register(Caller(pid=os.getpid()), "w", worker.pid, {})
        await store.flush()
        first.close()

        events: list[FleetEvent] = []
        second = make_fleet(store, clock, events, restart_grace=3600)
        await second.start()
        assert second.bots["w"].status is BotStatus.ONLINE  # alive: inside its grace
        worker.kill()
        worker.wait()
        # The injected clock never moves: only the pid watch can see this death.
        await wait_for(lambda: second.bots["w"].status is BotStatus.DOWN, timeout=10)
        [down] = [e for e in events if e.new_status == "down"]
        assert f"pid {worker.pid} exited" in (down.detail or "")
        second.close()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
