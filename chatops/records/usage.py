"""LLM usage summed over a window, as every door shows it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class UsageTotals:
    """LLM usage summed over a window: calls, tokens in and out, cost and mean latency (what
    ``get_usage`` and ``LLMUsageLogger.get_usage_stats`` answer)."""

    channel: str | None
    days: int
    total_calls: int
    total_tokens_in: int
    total_tokens_out: int
    total_cost: float
    avg_latency_ms: float | None


@dataclass(slots=True, frozen=True)
class UsageGroup:
    """LLM usage of one model (or feature) over a window."""

    name: str
    calls: int
    tokens_in: int
    tokens_out: int
    cost: float
    latency_ms: float | None


@dataclass(slots=True, frozen=True)
class UsageBucket:
    """LLM usage in one slice of time (a bar of the dashboard's usage chart)."""

    start: float
    calls: int
    tokens_in: int
    tokens_out: int
    cost: float


@dataclass(slots=True, frozen=True)
class RunningTotals:
    """A coding-agent session's running usage, whatever the model, as the agent counts it (the
    last ``usage_totals`` the controller stored): what the next report is compared with."""

    cost: float
    tokens_in: int
    tokens_out: int
    generation: int = 0
    """How many times one of the counters went down (the session id was reused)."""
    ts: float = 0.0
    """When these totals were received."""

    def same(self, other: RunningTotals) -> bool:
        return (self.cost, self.tokens_in, self.tokens_out) == (
            other.cost,
            other.tokens_in,
            other.tokens_out,
        )
