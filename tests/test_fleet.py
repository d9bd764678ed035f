"""The status state machine with an injected clock: no sleeping, exact deadlines."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Hashable
from pathlib import Path

import pytest

from chatops.config import MonitoringConfig
from chatops.records.fleet import BotState, BotStatus, FleetEvent
from chatops.runtime.bus import EventBus
from chatops.runtime.timers import Callback, Timers
from chatops.services.callers import Caller
from chatops.services.errors import NotFound, Refused
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


class CountingTimers(Timers):
    """The fleet's timers, counting how often a bot's timer is set."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.scheduled = 0

    def schedule(self, key: Hashable, when: float, callback: Callback) -> None:
        self.scheduled += 1
        super().schedule(key, when, callback)


async def test_a_hung_bot_changes_state_at_its_threshold_by_a_timer(store: Store) -> None:
    """No sweep runs here: the timers, set at each threshold, are all there is."""
    clock, events = FakeClock(), []
    fleet = make_fleet(store, clock, events)
    me = peer()
    fleet.register(me, "hung", os.getpid(), {})
    fleet.register(me, "fine", os.getpid(), {})
    t0 = clock.now
    assert fleet.silence_deadline("hung") == t0 + 40  # heartbeat_interval + late_grace

    clock.now = t0 + 39.999
    fleet.heartbeat(me, "fine")
    assert fleet.timers.run_due() == 0
    assert fleet.bots["hung"].status is BotStatus.ONLINE
    clock.now = t0 + 40
    assert fleet.timers.run_due() == 1  # the order's one timer, for both
    hung = fleet.bots["hung"]
    assert hung.status is BotStatus.LATE and hung.status_changed_at == t0 + 40
    assert fleet.bots["fine"].status is BotStatus.ONLINE  # its heartbeat moved its threshold
    assert fleet.silence_deadline("fine") == t0 + 39.999 + 40
    assert fleet.silence_deadline("hung") == t0 + 60  # stale_timeout after the last heartbeat

    clock.now = t0 + 60
    fleet.timers.run_due()
    assert hung.status is BotStatus.STALE and hung.status_changed_at == t0 + 60
    assert fleet.silence_deadline("hung") is None  # silence can change a stale bot no more
    transitions = [(e.old_status, e.new_status) for e in events if e.channel == "hung"]
    assert transitions[-2:] == [("online", "late"), ("late", "stale")]

    fleet.heartbeat(me, "hung")  # back: its next threshold is armed
    assert hung.status is BotStatus.ONLINE and fleet.silence_deadline("hung") == t0 + 60 + 40
    clock.now = t0 + 60 + 40
    fleet.timers.run_due()
    assert hung.status is BotStatus.LATE  # its place in the order was taken when it came back


async def test_heartbeats_set_no_timer_and_a_healthy_fleet_wakes_one(store: Store) -> None:
    """A heartbeat moves its bot in the order, it schedules nothing; the order's one timer fires
    about once per threshold for the whole fleet, not once per bot."""
    clock = FakeClock()
    timers = CountingTimers(clock)
    bus = EventBus()
    cfg = MonitoringConfig(socket_path=Path("/unused"), database_path=store.path)
    fleet = FleetService(store, bus, cfg, Ownership(), clock=clock, timers=timers)
    me = peer()
    names = [f"busy-{n}" for n in range(100)]
    for name in names:
        fleet.register(me, name, os.getpid(), {})
    t0, armed = clock.now, timers.scheduled
    for _ in range(400):  # 400 rounds, one heartbeat per bot every 0.3 s: 40,000 heartbeats
        clock.now += 0.3
        for name in names:
            fleet.heartbeat(me, name)
        timers.run_due()
    assert clock.now - t0 == pytest.approx(120)
    assert all(fleet.bots[name].status is BotStatus.ONLINE for name in names)
    # Three fires in 120 s at a 40 s threshold, each re-arming the one timer.
    assert timers.scheduled - armed <= 4
    assert fleet.silence_deadline("busy-0") == fleet.bots["busy-0"].last_heartbeat + 40

    late = names[50]
    silent_from = fleet.bots[late].last_heartbeat
    others = [name for name in names if name != late]
    while clock.now < silent_from + 40:
        clock.now += 0.3
        for name in others:
            fleet.heartbeat(me, name)
        timers.run_due()
    assert fleet.bots[late].status is BotStatus.LATE
    assert fleet.bots[late].status_changed_at < silent_from + 40 + 0.3  # at its threshold
    assert all(fleet.bots[name].status is BotStatus.ONLINE for name in others)


async def test_a_clock_stepped_back_never_judges_a_bot_late(store: Store) -> None:
    """A heartbeat stamped before the newest one in the order (the wall clock went back) cannot
    take its place at the end, where it would be judged after its threshold: it gets a timer of
    its own, and is judged at its threshold exactly."""
    clock, events = FakeClock(), []
    fleet = make_fleet(store, clock, events)
    me = peer()
    fleet.register(me, "ahead", os.getpid(), {})
    clock.now += 5
    fleet.register(me, "stepped", os.getpid(), {})
    t1 = clock.now
    clock.now = t1 - 3  # the clock steps back 3 s
    fleet.heartbeat(me, "stepped")
    fleet.heartbeat(me, "ahead")
    clock.now = t1 + 20
    fleet.heartbeat(me, "ahead")  # stamped before the newest too: a timer of its own
    assert fleet.silence_deadline("stepped") == t1 - 3 + 40
    clock.now = t1 - 3 + 40
    fleet.timers.run_due()
    assert fleet.bots["stepped"].status is BotStatus.LATE
    assert fleet.bots["stepped"].status_changed_at == t1 - 3 + 40
    assert fleet.bots["ahead"].status is BotStatus.ONLINE


async def test_the_reconnect_grace_ends_by_its_timer(store: Store) -> None:
    clock, events = FakeClock(), []
    first = make_fleet(store, clock, events)
    me = peer()
    for name in ("comes-back", "never-returns"):
        first.register(me, name, os.getpid(), {})
    await store.flush()
    first.close()

    events.clear()
    second = make_fleet(store, clock, events, restart_grace=30)
    await second.start()
    t0 = clock.now
    assert second.silence_deadline("never-returns") == t0 + 30
    clock.now = t0 + 20
    second.register(Caller(pid=os.getpid()), "comes-back", os.getpid(), {})
    clock.now = t0 + 30
    second.timers.run_due()
    assert second.bots["never-returns"].status is BotStatus.DOWN
    assert second.bots["comes-back"].status is BotStatus.ONLINE
    assert second.silence_deadline("comes-back") == t0 + 20 + 40
    assert second.silence_deadline("never-returns") is None
    [down] = [e for e in events if e.new_status == "down"]
    assert down.channel == "never-returns" and down.ts == t0 + 30


async def test_a_bot_back_by_heartbeat_after_a_restart_is_judged_from_it(store: Store) -> None:
    """A bot that reconnects after a controller restart by heartbeating (no register) leaves
    its reconnect grace: its late threshold counts from that heartbeat, not from the grace's
    end."""
    clock, events = FakeClock(), []
    first = make_fleet(store, clock, events)
    first.register(peer(), "returns", os.getpid(), {})
    await store.flush()
    first.close()

    second = make_fleet(store, clock, events, restart_grace=90)
    await second.start()
    t0 = clock.now
    clock.now = t0 + 5
    second.heartbeat(Caller(pid=os.getpid()), "returns")  # a new connection of its process
    assert second.silence_deadline("returns") == t0 + 5 + 40
    clock.now = t0 + 45
    second.timers.run_due()
    bot = second.bots["returns"]
    assert bot.status is BotStatus.LATE and bot.status_changed_at == t0 + 45


async def test_one_bot_failing_to_be_judged_leaves_the_others_watched(store: Store) -> None:
    """The online fleet shares one timer: a failure while judging one bot (here a listener of
    its change) is raised for the timers to log, and the others are still judged."""
    clock, events = FakeClock(), []
    fleet = make_fleet(store, clock, events)
    me = peer()
    for name in ("a", "b", "c"):
        fleet.register(me, name, os.getpid(), {})
    broken = {"a"}

    def listener(bot: BotState) -> None:
        if bot.channel in broken and bot.status is BotStatus.LATE:
            broken.discard(bot.channel)
            raise RuntimeError("listener failed")

    fleet.on_change.append(listener)
    t0 = clock.now
    clock.now = t0 + 40
    assert fleet.timers.run_due() == 1
    assert "RuntimeError: listener failed" in fleet.timers.errors["reap"]
    assert {name: fleet.bots[name].status for name in "abc"} == dict.fromkeys("abc", BotStatus.LATE)
    clock.now = t0 + 60
    fleet.timers.run_due()
    assert all(fleet.bots[name].status is BotStatus.STALE for name in "abc")


async def test_on_a_hub_no_local_client_heartbeats_another_hosts_bot(store: Store) -> None:
    """A bot an edge reports is the edge's to speak for: a local client's heartbeat for it is
    refused, and its state (down, here) is left as its edge said."""
    clock, events = FakeClock(), []
    fleet = make_fleet(store, clock, events)
    fleet.hub = True
    now = clock.now
    remote = BotState("edge-a/worker", 4242, BotStatus.ONLINE, now, now, now, host="edge-a")
    fleet.mirror(remote, BotStatus.DOWN, "host unreachable")
    with pytest.raises(Refused, match="supervised by its host's edge"):
        fleet.heartbeat(peer(), "edge-a/worker")
    assert fleet.bots["edge-a/worker"].status is BotStatus.DOWN
    assert fleet.bots["edge-a/worker"].last_heartbeat == now
