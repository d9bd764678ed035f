"""How full a pool or budget is, in levels, with hysteresis and one alert per crossing.

Thresholds are "% left" (30 and 10 by default). The level is how many thresholds the value is at
or below, plus ``exhausted`` at 0 %. A value must climb ``hysteresis`` points above a threshold
to count as back above it, so a value hovering at 30 % does not flap between levels; and within
one period (until a reset or a rollover) each threshold alerts once at most.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from chatops.records.alerts import Severity


@dataclass(slots=True)
class LevelTracker:
    thresholds: list[float]
    """Descending, e.g. [30, 10]."""
    hysteresis: float
    level: int = 0
    """0: above every threshold; len(thresholds): below the last; +1: exhausted."""
    alerted: set[int] = field(default_factory=set)
    """Levels already announced in this period."""

    @property
    def exhausted_level(self) -> int:
        return len(self.thresholds) + 1

    def observe(self, pct_left: float) -> int | None:
        """Move to the level ``pct_left`` gives; returns the level to announce, if any (a
        deeper level not yet announced in this period)."""
        new = self._level_for(pct_left)
        self.level = new
        if new > max(self.alerted, default=0):
            self.alerted.add(new)
            return new
        return None

    def _level_for(self, pct_left: float) -> int:
        if pct_left <= 0:
            return self.exhausted_level
        crossed = sum(1 for t in self.thresholds if pct_left <= t)
        if crossed >= self.level:
            return crossed
        # Going back up: only past a threshold by the hysteresis margin.
        return sum(1 for t in self.thresholds if pct_left <= t + self.hysteresis)

    def restore(self, level: int, alerted: Iterable[int]) -> None:
        """Where a restart left it: the level, and what this period already announced."""
        self.level = level
        self.alerted = set(alerted)

    def new_period(self) -> bool:
        """A reset or a rollover: levels start again. True when something had been announced."""
        announced = bool(self.alerted)
        self.alerted.clear()
        self.level = 0
        return announced

    def severity(self, level: int) -> Severity:
        if level >= len(self.thresholds):
            return Severity.CRITICAL
        return Severity.WARNING

    def state(self, level: int) -> str:
        if level == self.exhausted_level:
            return "exhausted"
        return "critical" if level >= len(self.thresholds) else "warning"
