"""The status reset and the stale-resource cleanup (a dry run first), and automatic restarts
spread out in time, on real sockets, files and the injected clock."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from chatops.composition.controller import Controller
from chatops.config import Settings
from chatops.config.recovery import RecoveryConfig
from chatops.services.recovery.restarts import RestartService
from tests.conftest import FakeClock, RawClient, make_settings, query


async def test_reset_status_cache_reloads_and_asks_bots_to_register(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir)
    ctl: Controller = await start_controller(settings)
    live = await RawClient.connect(settings.monitoring.socket_path)
    assert (
        await live.request({"id": 1, "type": "register", "channel": "live", "pid": os.getpid()})
    )["ok"]
    gone = await RawClient.connect(settings.monitoring.socket_path)
    assert (
        await gone.request({"id": 1, "type": "register", "channel": "gone", "pid": os.getpid()})
    )["ok"]
    assert (await gone.request({"id": 2, "type": "unregister", "channel": "gone"}))["ok"]
    await ctl.store.flush()
    fleet = ctl.services.fleet
    fleet.bots["gone"].features = {"corrupted": True}  # the in-memory copy went wrong
    result = await fleet.reset_statuses()
    assert (result.reloaded, result.asked_to_register) == (1, 1)
    assert fleet.bots["gone"].features != {"corrupted": True}
    push = await live.recv()
    assert push["type"] == "control" and push["action"] == "register"
    await live.close()
    await gone.close()


async def cleanup_controller(
    workdir: Path, start_controller: Any, clock: FakeClock
) -> tuple[Controller, RawClient, Settings]:
    """A controller on ``clock`` that keeps bots 7 days and reports orphan folders, and a client."""
    settings = make_settings(workdir)
    settings.cache.orphans = "report"
    settings.recovery = RecoveryConfig(offline_days=7)
    ctl: Controller = await start_controller(settings, clock=clock)
    return ctl, await RawClient.connect(settings.monitoring.socket_path), settings


async def registered_then_gone(client: RawClient, name: str) -> None:
    """A bot that registered and then unregistered cleanly: offline from now on."""
    register = {"id": 1, "type": "register", "channel": name, "pid": os.getpid()}
    assert (await client.request(register))["ok"]
    assert (await client.request({"id": 2, "type": "unregister", "channel": name}))["ok"]


async def test_cleanup_stale_resources_dry_run_then_for_real(
    workdir: Path, start_controller: Any
) -> None:
    clock = FakeClock(1_900_000_000.0)
    ctl, client, settings = await cleanup_controller(workdir, start_controller, clock)
    for name in ("old", "recent"):
        await registered_then_gone(client, name)
        clock.advance(6 * 86400)
    clock.advance(2 * 86400)  # old: offline 14 days; recent: 8 days... both past 7
    ctl.services.fleet.bots["recent"].status_changed_at = clock.now - 86400
    dead = workdir / "dead.sock"
    with socket.socket(socket.AF_UNIX) as leftover:
        leftover.bind(str(dead))  # bound and closed: nobody listens, the file stays
    orphan = settings.cache_root / "orphan-task"
    orphan.mkdir()
    (orphan / "f").write_text("x")

    cleanup = ctl.services.cleanup
    plan = await cleanup.cleanup_stale_resources(dry_run=True)
    assert plan["stale_bots"] == ["old"] and plan["dead_sockets"] == [str(dead)]
    assert plan["orphan_cache_folders"] == ["orphan-task"]
    assert dead.exists() and orphan.exists() and "old" in ctl.services.fleet.bots

    done = await cleanup.cleanup_stale_resources(dry_run=False)
    assert done["stale_bots"] == ["old"] and not dead.exists() and not orphan.exists()
    assert "old" not in ctl.services.fleet.bots and "recent" in ctl.services.fleet.bots
    assert settings.monitoring.socket_path.exists()  # ours is never touched
    await ctl.store.flush()
    assert query(settings.monitoring.database_path, "SELECT channel FROM bot_status") == [
        ("recent",)
    ]
    status = await client.request({"id": 3, "type": "get_status"})
    assert [b["channel"] for b in status["bots"]] == ["recent"]
    await client.close()
    assert json.dumps(done)  # the report is plain data


async def test_a_cleanup_that_was_shown_is_carried_out_exactly(
    workdir: Path, start_controller: Any
) -> None:
    """What ``/recover cleanup`` confirms is the plan it showed: a bot that came back since is
    spared, and a socket that died after the plan waits for the next one."""
    clock = FakeClock(1_900_000_000.0)
    ctl, client, _ = await cleanup_controller(workdir, start_controller, clock)
    for name in ("comes-back", "stays-gone"):
        await registered_then_gone(client, name)
    clock.advance(8 * 86400)
    first = workdir / "first.sock"
    with socket.socket(socket.AF_UNIX) as leftover:
        leftover.bind(str(first))
    cleanup = ctl.services.cleanup
    plan = await cleanup.plan()
    assert sorted(plan.stale_bots) == ["comes-back", "stays-gone"]
    assert plan.dead_sockets == (first,)

    # Between the plan and the click: one bot is back, a new socket dies, another bot joins
    # and goes stale.
    reply = await client.request(
        {"id": 3, "type": "register", "channel": "comes-back", "pid": os.getpid()}
    )
    assert reply["ok"]
    later = workdir / "later.sock"
    with socket.socket(socket.AF_UNIX) as leftover:
        leftover.bind(str(later))
    done = await cleanup.execute(plan)
    assert done.stale_bots == ("stays-gone",) and done.dead_sockets == (str(first),)
    assert "comes-back" in ctl.services.fleet.bots and "stays-gone" not in ctl.services.fleet.bots
    assert not first.exists() and later.exists()  # not in the plan: left for the next one
    await client.close()


async def test_automatic_restarts_are_spread_out(workdir: Path, start_controller: Any) -> None:
    clock = FakeClock()
    ctl: Controller = await start_controller(make_settings(workdir), clock=clock)
    services = ctl.services
    restarts = RestartService(RecoveryConfig(spread=1.0), services.fleet, services.bus, clock=clock)
    for name in ("a", "b", "c"):
        restarts._decide(name, None)  # each went down: the policy sets its wait, a timer
    clock.advance(60)
    restarts.timers.run_due()
    started = [n for n, s in restarts.policy.bots.items() if s.state == "running"]
    assert len(started) == 1
    restarts.timers.run_due()
    assert sum(s.state == "running" for s in restarts.policy.bots.values()) == 1
    clock.advance(1.0)
    restarts.timers.run_due()
    assert sum(s.state == "running" for s in restarts.policy.bots.values()) == 2
    await restarts.close()


async def test_vacuum_runs_on_the_writer_thread(store: Any) -> None:
    for index in range(3000):
        store.cache.save_state(f"filler-{index}", "x" * 200)
    await store.flush()
    await store.db.writer.run(
        lambda conn: conn.execute("DELETE FROM cache_state WHERE name LIKE 'filler-%'")
    )
    before = await store.controller.probe(1_800_000_000.0)
    assert before.free_bytes > 100_000
    await store.controller.optimize(vacuum=True)
    after = await store.controller.probe(1_800_000_001.0)
    assert after.quick_check == "ok" and after.read_back
    assert after.free_bytes == 0 and after.size_bytes < before.size_bytes
