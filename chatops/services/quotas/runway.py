"""Burn rate and runway: how fast a pool or budget is being used, and whether it lasts until
its reset ("runs out in 2 h 10 min, 1 h 05 min before reset" or "lasts until the reset")."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from chatops.presentation.formatting import describe_duration

SAMPLE_EVERY = 60.0
"""At most one (time, % left) sample per minute is kept for the burn rate."""


@dataclass(frozen=True, slots=True)
class Runway:
    burn_per_hour: float | None
    """Points of % used per hour over the burn window; None without enough history."""
    exhausted_at: float | None
    """When it runs out at that rate; None when it is not being used up."""
    resets_at: float | None

    @property
    def lasts(self) -> bool | None:
        """True when it lasts until the reset; None when that cannot be said."""
        if self.exhausted_at is None:
            return True if self.burn_per_hour is not None else None
        if self.resets_at is None:
            return None
        return self.exhausted_at >= self.resets_at

    def describe(self, now: float) -> str:
        if self.burn_per_hour is None:
            return "burn rate not known yet"
        rate = f"{self.burn_per_hour:.1f} pts/h"
        if self.exhausted_at is None:
            return f"{rate}, not being used up"
        left = describe_duration(self.exhausted_at - now)
        if self.resets_at is None:
            return f"{rate}, runs out in {left}"
        if self.exhausted_at >= self.resets_at:
            return f"{rate}, lasts until the reset"
        early = describe_duration(self.resets_at - self.exhausted_at)
        return f"{rate}, runs out in {left}, {early} before reset"


class BurnSamples:
    """Recent (time, % left) samples of one pool or budget."""

    def __init__(self) -> None:
        self._samples: deque[tuple[float, float]] = deque()

    def add(self, ts: float, pct_left: float) -> None:
        if self._samples and ts - self._samples[-1][0] < SAMPLE_EVERY:
            self._samples[-1] = (self._samples[-1][0], pct_left)
            return
        self._samples.append((ts, pct_left))

    def clear(self) -> None:
        self._samples.clear()

    def runway(self, now: float, window: float, pct_left: float, resets_at: float | None) -> Runway:
        samples = self._samples
        while len(samples) > 1 and samples[0][0] < now - window:
            samples.popleft()
        if len(samples) < 2 or now - samples[0][0] < SAMPLE_EVERY:
            return Runway(None, None, resets_at)
        first_ts, first_pct = samples[0]
        burn = (first_pct - pct_left) / ((now - first_ts) / 3600)
        if burn <= 0:
            return Runway(max(burn, 0.0), None, resets_at)
        return Runway(burn, now + pct_left / burn * 3600, resets_at)
