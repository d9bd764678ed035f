"""What the quota service publishes on the bus: a budget or pool crossing one more threshold,
and its crossings ending (back above every threshold, or a new period). The quota alerts turn
them into ``quota`` incidents named after the budget or pool."""

from __future__ import annotations

from dataclasses import dataclass

from chatops.records.alerts import Severity


@dataclass(frozen=True, slots=True)
class QuotaCrossed:
    """A deeper threshold crossed: once per threshold per period (per episode, for a rolling
    window), after the hysteresis."""

    ts: float
    name: str
    """The budget's or pool's name."""
    state: str
    """``warning``, ``critical`` or ``exhausted``."""
    severity: Severity
    detail: str
    """Its first line is the headline ("25% left of budget …"); then usage, reset, runway."""


@dataclass(frozen=True, slots=True)
class QuotaCleared:
    """Its crossings are over: back above every threshold, or a reset or a rollover."""

    ts: float
    name: str
    why: str
    """``back to 80% left``, ``new period, budget renewed``…"""
