"""Bad-input accounting: a per-connection error budget and a log that summarises, never floods.

A client that sends garbage costs the controller one decode and one error reply per line. Two
things keep that cost bounded whatever it sends: the connection is closed once it spends its
budget of bad messages within a window, and the log gets at most a few summary lines every
``SUMMARY_INTERVAL`` seconds (counts per peer) instead of one line per message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from dataclasses import dataclass

log = logging.getLogger("chatops.wire.server")

SUMMARY_INTERVAL = 10.0
SUMMARY_PEERS = 10


class ErrorBudget:
    """Counts bad messages in a sliding window; ``spend`` returns False once it is exhausted."""

    __slots__ = ("_budget", "_times", "_window")

    def __init__(self, budget: int, window: float) -> None:
        self._budget = budget
        self._window = window
        self._times: deque[float] = deque()

    def spend(self, now: float) -> bool:
        times = self._times
        times.append(now)
        while times and times[0] <= now - self._window:
            times.popleft()
        return len(times) <= self._budget


@dataclass(slots=True)
class _Tally:
    count: int = 0
    last: str = ""


class BadInputLog:
    """Collects bad messages per peer and logs them as periodic summaries."""

    def __init__(self, interval: float = SUMMARY_INTERVAL) -> None:
        self._interval = interval
        self._tallies: dict[str, _Tally] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._last_flush = 0.0
        self.total = 0
        self.by_code: Counter[str] = Counter()
        """Every bad message since the start, by its error code (``/metrics``)."""

    def record(self, peer: str, code: str, message: str) -> None:
        self.total += 1
        self.by_code[code] += 1
        tally = self._tallies.get(peer)
        if tally is None:
            tally = self._tallies[peer] = _Tally()
        tally.count += 1
        tally.last = f"{code}: {message[:120]}"
        if self._timer is None:
            # The first report of a quiet period goes out within a second; later ones wait
            # for the interval, so the log grows by a few lines per interval at most.
            delay = max(1.0, self._interval - (time.monotonic() - self._last_flush))
            self._timer = asyncio.get_running_loop().call_later(delay, self.flush)

    def flush(self) -> None:
        self._timer = None
        self._last_flush = time.monotonic()
        if not self._tallies:
            return
        tallies = sorted(self._tallies.items(), key=lambda item: -item[1].count)
        self._tallies = {}
        for peer, tally in tallies[:SUMMARY_PEERS]:
            log.warning("bad messages from %s: %d; latest %s", peer, tally.count, tally.last)
        rest = tallies[SUMMARY_PEERS:]
        if rest:
            log.warning(
                "bad messages from other peers: %d (peers: %d)",
                sum(tally.count for _, tally in rest),
                len(rest),
            )

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.flush()
