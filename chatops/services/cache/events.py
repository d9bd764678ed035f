"""What the cache's scheduled check publishes on the bus: where the total stands against
``warning_threshold_mb`` (one event or the other, every check), and what an auto-clean removed.
The cache alerts turn them into the ``cache`` incident and its ``cache_cleaned`` notice."""

from __future__ import annotations

from dataclasses import dataclass

from chatops.records.cache import PlanItem


@dataclass(frozen=True, slots=True)
class CacheOverWarning:
    ts: float
    total: int
    """Bytes."""
    warning_mb: float
    entries: int


@dataclass(frozen=True, slots=True)
class CacheUnderWarning:
    ts: float
    warning_mb: float


@dataclass(frozen=True, slots=True)
class CacheCleaned:
    """The auto-clean removed these (never empty)."""

    ts: float
    removed: tuple[PlanItem, ...]
    freed: int
    """Bytes."""
    total_after: int
    """Bytes left in the cache."""
