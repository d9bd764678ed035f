"""Quota records: a budget's announced levels, a reported credit pool, what a budget counts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class QuotaState:
    name: str
    period_start: float
    level: int
    alerted: frozenset[int]


@dataclass(frozen=True, slots=True)
class PoolRecord:
    name: str
    family: str
    models: tuple[str, ...]
    used: float
    limit: float
    resets_at: float | None
    window: str | None
    updated_at: float
    reported_by: str | None = None
    """The bot whose connection last reported the pool."""


@dataclass(frozen=True, slots=True)
class PoolReading:
    """One credit pool as a provider reports it: absolute values, so a repeat changes
    nothing."""

    name: str
    used: float
    limit: float
    resets_at: float | None = None
    window: str | None = None


@dataclass(frozen=True, slots=True)
class UsageScope:
    """Which ``llm_usage`` rows a budget counts; None matches anything."""

    models: tuple[str, ...] | None = None
    bot: str | None = None
    feature: str | None = None
