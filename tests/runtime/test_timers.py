"""Keyed timers on the injected clock: each key fires once at its time, scheduling a key again
replaces its timer, cancelling drops it, closing drops them all; a failure is logged and the
others still fire; the real loop fires them without anyone calling ``run_due``."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from chatops.runtime.timers import Timers
from tests.conftest import FakeClock, wait_for


async def test_each_key_fires_once_at_its_time_soonest_first(clock: FakeClock) -> None:
    timers = Timers(clock)
    fired: list[str] = []
    t0 = clock.now
    timers.schedule(("reap", "b"), t0 + 20, lambda: fired.append("b"))
    timers.schedule(("reap", "a"), t0 + 10, lambda: fired.append("a"))
    timers.schedule(("approval", 1), t0 + 10, lambda: fired.append("approval 1"))
    assert timers.when(("reap", "a")) == t0 + 10 and ("reap", "b") in timers
    clock.advance(9.999)
    assert timers.run_due() == 0 and fired == []
    clock.advance(0.001)
    # Same deadline: in the order they were scheduled.
    assert timers.run_due() == 2 and fired == ["a", "approval 1"]
    assert ("reap", "a") not in timers and timers.when(("reap", "a")) is None
    clock.advance(100)
    assert timers.run_due() == 1 and fired == ["a", "approval 1", "b"]
    assert timers.run_due() == 0  # each fired once
    await timers.close()


async def test_scheduling_a_key_again_replaces_its_timer(clock: FakeClock) -> None:
    timers = Timers(clock)
    fired: list[str] = []
    t0 = clock.now
    timers.schedule("k", t0 + 10, lambda: fired.append("first"))
    timers.schedule("k", t0 + 20, lambda: fired.append("later"))
    clock.advance(10)
    assert timers.run_due() == 0 and fired == []  # the first is gone, not merely delayed
    clock.advance(10)
    assert timers.run_due() == 1 and fired == ["later"]
    timers.schedule("k", t0 + 50, lambda: fired.append("late"))
    timers.schedule("k", t0 + 30, lambda: fired.append("sooner"))  # brought forward
    clock.advance(10)
    assert timers.run_due() == 1 and fired == ["later", "sooner"]
    clock.advance(100)
    assert timers.run_due() == 0 and fired == ["later", "sooner"]
    await timers.close()


async def test_cancel_drops_one_key_and_close_drops_all(clock: FakeClock) -> None:
    timers = Timers(clock)
    fired: list[str] = []
    t0 = clock.now
    timers.schedule("a", t0 + 5, lambda: fired.append("a"))
    timers.schedule("b", t0 + 5, lambda: fired.append("b"))
    timers.schedule("c", t0 + 5, lambda: fired.append("c"))
    assert timers.cancel("b") is True
    assert timers.cancel("b") is False and timers.cancel("never") is False
    clock.advance(5)
    assert timers.run_due() == 2 and fired == ["a", "c"]
    timers.schedule("d", t0 + 10, lambda: fired.append("d"))
    await timers.close()
    timers.schedule("e", t0 + 10, lambda: fired.append("e"))  # ignored once closed
    clock.advance(100)
    assert timers.run_due() == 0 and fired == ["a", "c"]
    assert "d" not in timers and "e" not in timers


async def test_a_callback_may_cancel_or_replace_one_due_in_the_same_pass(
    clock: FakeClock,
) -> None:
    timers = Timers(clock)
    fired: list[str] = []
    t0 = clock.now

    def first() -> None:
        fired.append("first")
        timers.cancel("second")
        timers.schedule("third", t0 + 100, lambda: fired.append("third, moved"))
        timers.schedule("first", t0, lambda: fired.append("first again"))  # due now

    timers.schedule("first", t0 + 1, first)
    timers.schedule("second", t0 + 1, lambda: fired.append("second"))
    timers.schedule("third", t0 + 1, lambda: fired.append("third"))
    clock.advance(1)
    assert timers.run_due() == 1 and fired == ["first"]
    # What a callback scheduled for now waits for the next pass: no pass runs forever.
    assert timers.run_due() == 1 and fired == ["first", "first again"]
    clock.advance(99)
    assert timers.run_due() == 1 and fired == ["first", "first again", "third, moved"]
    await timers.close()


async def test_a_failure_is_logged_and_kept_and_the_rest_still_fire(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    timers = Timers(clock)
    fired: list[str] = []
    done = asyncio.Event()

    def broken() -> None:
        raise RuntimeError("boom")

    async def broken_later() -> None:
        await asyncio.sleep(0)
        raise ValueError("bang")

    async def fine_later() -> None:
        fired.append("coroutine")
        done.set()

    timers.schedule(("reap", "x"), clock.now, broken)
    timers.schedule(("approval", 3), clock.now, broken_later)
    timers.schedule(("restart", "y"), clock.now, fine_later)
    timers.schedule(("grant", 1), clock.now, lambda: fired.append("plain"))
    with caplog.at_level(logging.ERROR, logger="chatops.runtime.timers"):
        assert timers.run_due() == 4
        await asyncio.wait_for(done.wait(), 10)
        await wait_for(lambda: "approval" in timers.errors)  # the coroutine's, once it raised
        await timers.close()
    assert fired == ["plain", "coroutine"]
    assert "RuntimeError: boom" in timers.errors["reap"]
    assert "ValueError: bang" in timers.errors["approval"]
    assert "restart" not in timers.errors and "grant" not in timers.errors
    logged = [r for r in caplog.records if r.name == "chatops.runtime.timers"]
    assert {r.exc_info[1].__class__ for r in logged if r.exc_info} == {RuntimeError, ValueError}
    assert any("('reap', 'x')" in r.getMessage() for r in logged)


async def test_close_cancels_a_callback_still_running(clock: FakeClock) -> None:
    timers = Timers(clock)
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def slow() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    timers.schedule("slow", clock.now, slow)
    timers.run_due()
    await asyncio.wait_for(started.wait(), 10)
    await timers.close()
    assert cancelled.is_set()


async def test_the_loop_fires_them_on_the_real_clock() -> None:
    """In production nobody calls run_due: the loop wakes at the soonest deadline."""
    timers = Timers(time.time)
    order: list[str] = []
    both = asyncio.Event()

    def fire(name: str) -> None:
        order.append(name)
        if len(order) == 2:
            both.set()

    now = time.time()
    timers.schedule("later", now + 0.05, lambda: fire("later"))
    timers.schedule("never", now + 0.01, lambda: fire("never"))
    timers.schedule("sooner", now + 0.02, lambda: fire("sooner"))
    timers.cancel("never")
    try:
        await asyncio.wait_for(both.wait(), 10)
    finally:
        await timers.close()
    assert order == ["sooner", "later"]
