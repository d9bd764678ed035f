"""Keyed timers on the injected clock: schedule a call at a time, replace it, cancel it by key.

python-discord bot-core's ``Scheduler`` is the model: one timer per key (a request's id, a
bot's name), so a deadline is a timer rather than a loop that polls every second. Scheduling a
key again replaces its timer; :meth:`Timers.cancel` drops it; :meth:`Timers.close` drops them
all. A callback may be a plain function or a coroutine function: a coroutine runs as a task the
timers own (cancelled at close). Whatever a callback raises is logged with its key and kept in
:attr:`Timers.errors` (shown beside the scheduler's jobs), never lost, and the other timers fire.

How they fire, and why this way: what is due is always decided by :meth:`Timers.run_due` on the
injected clock, never by the event loop's own clock, which a test cannot move. In production one
loop timer (``call_later``) is armed for the soonest deadline, computed as a delta on the
injected clock, and when it goes off it calls :meth:`run_due`, which fires what is due and arms
it again for the next. (The wall clock and the loop's monotonic clock may differ by a hair: a
wake-up that comes a little early finds nothing due and sleeps the rest.) A test holds a fake
clock, advances it and calls :meth:`run_due` itself: one code path for both, and nothing in a
test waits for the loop's idea of time. A timer scheduled at or before the clock's now fires on
the loop's next turn (or the next :meth:`run_due`). Firing order is by deadline, then by when
it was scheduled.

Timers are cheap: a heap entry each, one loop timer in all. A replaced or cancelled entry stays
in the heap until it surfaces or the heap is compacted.
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
import logging
from collections.abc import Awaitable, Callable, Hashable

from chatops.runtime.tasks import TaskSet
from chatops.timeutil import Clock, utcnow, wall_clock

log = logging.getLogger(__name__)

Callback = Callable[[], object]
"""Called with no arguments; if it returns an awaitable (a coroutine function's call), that runs
as an owned task."""

LONGEST_SLEEP = 60.0
"""The loop timer never sleeps longer than this: a wall clock that jumps forward is noticed
within a minute even when the next deadline is hours away."""


class _Entry:
    __slots__ = ("callback", "seq", "when")

    def __init__(self, when: float, seq: int, callback: Callback) -> None:
        self.when = when
        self.seq = seq
        self.callback = callback


def label(key: Hashable) -> str:
    """What a key's failures are filed under: the first member of a tuple key (its kind, e.g.
    ``reap`` for ``("reap", "bot-7")``), else the key itself."""
    if isinstance(key, tuple) and key:
        return str(key[0])
    return str(key)


class Timers:
    def __init__(self, clock: Clock = wall_clock) -> None:
        self._clock = clock
        self._entries: dict[Hashable, _Entry] = {}
        self._heap: list[tuple[float, int, Hashable]] = []
        self._seq = 0
        self._tasks = TaskSet()
        self._wakeup: asyncio.TimerHandle | None = None
        self._wakeup_at = 0.0
        self._closed = False
        self.errors: dict[str, str] = {}
        """The last failure of each kind of timer (see :func:`label`), cleared when one of that
        kind next fires without one: what the diagnostics show."""

    # -- scheduling ------------------------------------------------------------------------------

    def schedule(self, key: Hashable, when: float, callback: Callback) -> None:
        """Call ``callback`` once the injected clock reaches ``when`` (seconds since the epoch,
        as the clock counts them); replaces any timer ``key`` had. Ignored once closed."""
        if self._closed:
            log.debug("timer %r not scheduled: the timers are closed", key)
            return
        self._seq += 1
        entry = _Entry(when, self._seq, callback)
        self._entries[key] = entry
        heapq.heappush(self._heap, (when, entry.seq, key))
        if len(self._heap) > 2 * len(self._entries) + 1024:
            self._compact()
        self._arm()

    def cancel(self, key: Hashable) -> bool:
        """Drop ``key``'s timer; False when it had none (fired already, or never scheduled)."""
        return self._entries.pop(key, None) is not None

    def when(self, key: Hashable) -> float | None:
        """When ``key``'s timer fires, or None when it has none."""
        entry = self._entries.get(key)
        return None if entry is None else entry.when

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    # -- firing ----------------------------------------------------------------------------------

    def run_due(self) -> int:
        """Fire every timer whose time has come on the injected clock, soonest first; how many
        fired. A timer scheduled for now by one of them fires on the next call (or the loop's
        next turn), so a callback that re-arms itself cannot keep this call going."""
        now = self._clock()
        due: list[tuple[Hashable, _Entry]] = []
        while self._heap and self._heap[0][0] <= now:
            _, seq, key = heapq.heappop(self._heap)
            entry = self._entries.get(key)
            if entry is not None and entry.seq == seq:
                due.append((key, entry))
        fired = 0
        for key, entry in due:
            if self._entries.get(key) is not entry:
                continue  # cancelled or replaced by a callback that fired before it
            del self._entries[key]
            self._fire(key, entry.callback)
            fired += 1
        self._arm()
        return fired

    def _fire(self, key: Hashable, callback: Callback) -> None:
        try:
            result = callback()
        except Exception as exc:
            self._failed(key, exc)
            return
        if inspect.isawaitable(result):
            self._tasks.spawn(self._finish(key, result), name=f"timer:{key!r}"[:200])
        else:
            self.errors.pop(label(key), None)

    async def _finish(self, key: Hashable, awaitable: Awaitable[object]) -> None:
        try:
            await awaitable
        except Exception as exc:
            self._failed(key, exc)
        else:
            self.errors.pop(label(key), None)

    def _failed(self, key: Hashable, exc: Exception) -> None:
        log.error("timer %r failed", key, exc_info=exc)
        stamp = f"{utcnow():%Y-%m-%d %H:%M:%S} UTC"
        self.errors[label(key)] = f"{stamp}: {type(exc).__name__}: {exc}"[:300]

    # -- the loop's wake-up ----------------------------------------------------------------------

    def _arm(self) -> None:
        """Keep one loop timer set for the soonest live deadline (none when nothing is due)."""
        heap = self._heap
        while heap and not self._live(heap[0]):
            heapq.heappop(heap)  # cancelled or replaced
        if not heap:
            self._disarm()
            return
        soonest = heap[0][0]
        if self._wakeup is not None and self._wakeup_at <= soonest:
            return  # set already for this deadline or an earlier one (which re-arms)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a synchronous test): run_due() is the only way they fire
        self._disarm()
        delay = min(max(0.0, soonest - self._clock()), LONGEST_SLEEP)
        self._wakeup = loop.call_later(delay, self._woken)
        self._wakeup_at = soonest if delay < LONGEST_SLEEP else self._clock() + delay

    def _live(self, item: tuple[float, int, Hashable]) -> bool:
        entry = self._entries.get(item[2])
        return entry is not None and entry.seq == item[1]

    def _woken(self) -> None:
        self._wakeup = None
        self.run_due()

    def _disarm(self) -> None:
        if self._wakeup is not None:
            self._wakeup.cancel()
            self._wakeup = None

    def _compact(self) -> None:
        self._heap = [(entry.when, entry.seq, key) for key, entry in self._entries.items()]
        heapq.heapify(self._heap)

    # -- the end ---------------------------------------------------------------------------------

    async def close(self) -> None:
        """Cancel every timer and every callback still running; later schedules are ignored."""
        self._closed = True
        self._disarm()
        self._entries.clear()
        self._heap.clear()
        await self._tasks.cancel()
