"""Counting on hot paths: a fixed-bucket histogram cheap enough for every commit.

The metrics endpoint (:mod:`chatops.metrics`) reads these at scrape time and renders them in
Prometheus's form; the code that observes them knows nothing of Prometheus. A message counter
is a plain :class:`collections.Counter` keyed by what is counted.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence


class Buckets:
    """Observations counted per upper bound (``le``, inclusive, as Prometheus's buckets are),
    with their sum; the last bucket is +Inf."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(sorted(bounds))
        self.counts = [0] * (len(self.bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[tuple[float, int]]:
        """``(le, observations <= le)`` for every bound and +Inf: Prometheus's buckets."""
        running, out = 0, []
        for bound, count in zip([*self.bounds, float("inf")], self.counts, strict=True):
            running += count
            out.append((bound, running))
        return out


COMMIT_SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
"""A store commit's duration: a fraction of a millisecond when healthy, seconds when the disk
struggles."""
