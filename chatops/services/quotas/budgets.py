"""A budget's running total: kept in memory from each usage event, never by re-scanning
``llm_usage`` (that happens once, at start). Calendar periods roll over at their boundary in the
budget's time zone; a rolling window forgets events as they age out."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from chatops.config.quotas import BudgetConfig, window_seconds
from chatops.records.quotas import UsageScope
from chatops.services.quotas.levels import LevelTracker
from chatops.services.quotas.periods import period_bounds
from chatops.services.quotas.runway import BurnSamples

BUCKET = 60.0
"""A rolling window counts usage by the minute: an event leaves it within a minute of its age
reaching the window."""


def family_of(model: str) -> str:
    """The provider family of a model name: Claude, Gemini, OpenAI, or other."""
    name = model.lower()
    if "claude" in name:
        return "claude"
    if "gemini" in name:
        return "gemini"
    if name.startswith(("gpt", "o1", "o3", "o4", "chatgpt", "text-embedding")):
        return "openai"
    return "other"


@dataclass(slots=True)
class Budget:
    config: BudgetConfig
    levels: LevelTracker
    total: float = 0.0
    period_start: float = 0.0
    period_end: float = float("inf")
    events: deque[tuple[float, float]] = field(default_factory=deque)
    """Rolling windows only: (minute, sum) of the events still inside the window, so memory is
    bounded by the window's length (300 entries for 5 h), not by the traffic."""
    burn: BurnSamples = field(default_factory=BurnSamples)
    window: float | None = field(init=False)

    @property
    def name(self) -> str:
        return self.config.name

    def __post_init__(self) -> None:
        self.window = None if self.config.window is None else window_seconds(self.config.window)

    @property
    def pct_left(self) -> float:
        return max(0.0, 100.0 * (1 - self.total / self.config.limit))

    def scope(self, models: list[str] | None = None) -> UsageScope:
        cfg = self.config
        chosen: tuple[str, ...] | None = None
        if cfg.model is not None:
            chosen = (cfg.model,)
        elif cfg.family is not None:
            chosen = tuple(m for m in models or [] if family_of(m) == cfg.family.lower())
        return UsageScope(models=chosen, bot=cfg.bot, feature=cfg.feature)

    def counts(self, model: str, bot: str, feature: str | None) -> bool:
        cfg = self.config
        return (
            (cfg.model is None or cfg.model == model)
            and (cfg.family is None or cfg.family.lower() == family_of(model))
            and (cfg.bot is None or cfg.bot == bot)
            and (cfg.feature is None or cfg.feature == feature)
        )

    def span(self, now: float) -> tuple[float, float]:
        """Where the current period starts and ends (a window ends never; it slides)."""
        window = self.window
        if window is not None:
            return now - window, float("inf")
        assert self.config.period is not None
        return period_bounds(now, self.config.period, self.config.timezone)

    def add(self, ts: float, value: float) -> None:
        self.total += value
        if self.window is not None:
            minute = ts // BUCKET * BUCKET
            events = self.events
            if events and events[-1][0] >= minute:
                events[-1] = (events[-1][0], events[-1][1] + value)  # late or same minute
            else:
                events.append((minute, value))

    def slide(self, now: float) -> None:
        """Forget what left a rolling window."""
        window = self.window
        if window is None:
            return
        while self.events and self.events[0][0] + BUCKET <= now - window:
            self.total -= self.events.popleft()[1]
        if not self.events:
            self.total = 0.0


def value_of(metric: str, tokens_in: int, tokens_out: int, cost: float) -> float:
    if metric == "tokens_in":
        return float(tokens_in)
    if metric == "tokens_out":
        return float(tokens_out)
    if metric == "tokens":
        return float(tokens_in + tokens_out)
    if metric == "calls":
        return 1.0
    return cost
