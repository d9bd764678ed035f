"""The ``quotas`` config section: thresholds, history, and the budgets computed from usage."""

from __future__ import annotations

import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_WINDOW = re.compile(r"^(\d+)\s*([mhd])$")
_UNIT = {"m": 60, "h": 3600, "d": 86400}


def window_seconds(text: str) -> float:
    """``5h`` → 18000: a rolling window's length."""
    match = _WINDOW.match(text.strip())
    if match is None or int(match[1]) == 0:
        raise ValueError(f"{text!r} is not a window like 90m, 5h or 7d")
    return int(match[1]) * _UNIT[match[2]]


def _check_thresholds(values: list[float]) -> list[float]:
    if not values:
        raise ValueError("at least one threshold")
    if any(not 0 < v < 100 for v in values):
        raise ValueError("thresholds are % left, strictly between 0 and 100")
    return sorted(set(values), reverse=True)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BudgetConfig(_Section):
    """A budget computed from the ``llm_usage`` events chatops stores."""

    name: str = Field(min_length=1, max_length=64)
    limit: float = Field(gt=0)
    metric: Literal["tokens_in", "tokens_out", "tokens", "calls", "cost"] = "cost"
    period: Literal["day", "week", "month"] | None = "month"
    window: str | None = None
    """A rolling window (``5h``) instead of a calendar period."""
    timezone: str = "UTC"
    model: str | None = None
    family: str | None = None
    bot: str | None = None
    feature: str | None = None
    thresholds: list[float] | None = None
    """% left that alert; the defaults are ``quotas.warning_threshold`` and ``critical``."""

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("window")
    @classmethod
    def _window(cls, value: str | None) -> str | None:
        if value is not None:
            window_seconds(value)
        return value

    @field_validator("thresholds")
    @classmethod
    def _thresholds(cls, value: list[float] | None) -> list[float] | None:
        return None if value is None else _check_thresholds(value)

    @model_validator(mode="after")
    def _one_span(self) -> BudgetConfig:
        if self.window is not None:
            self.period = None
        elif self.period is None:
            raise ValueError("a budget needs a period (day, week, month) or a window (5h)")
        return self


class QuotasConfig(_Section):
    warning_threshold: float = Field(30.0, gt=0, lt=100)
    critical_threshold: float = Field(10.0, gt=0, lt=100)
    hysteresis: float = Field(2.0, ge=0, le=20)
    """Points above a threshold a value must climb back before that threshold can alert again
    (within the same period a threshold alerts at most once anyway)."""
    rebound_points: float = Field(5.0, gt=0, le=100)
    """A reported pool whose % left jumps up by more than this, with no reset time given, has
    been reset."""
    stale_after: float = Field(1800, gt=0)
    """A reported pool not updated for this many seconds is flagged stale."""
    history_max_days: int = Field(90, ge=1, le=3650)
    """Quota history kept: raw for a day, then one sample per 5 minutes."""
    burn_window: float = Field(3600, gt=0)
    """How far back the burn rate looks, in seconds."""
    check_interval: float = Field(60, gt=0)
    shared_pools: dict[str, list[str]] = Field(default_factory=dict)
    """Pool name → the models whose thinking and flow credits are one pool: their reports update
    ``<pool> thinking`` and ``<pool> flow``, shown once with every model."""
    pool_thresholds: dict[str, list[float]] = Field(default_factory=dict)
    """% left that alert, for one reported pool (the defaults apply to the others)."""
    price_table: bool = True
    """Usage events without ``estimated_cost`` are priced from genai-prices' table."""
    budgets: list[BudgetConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ordered(self) -> QuotasConfig:
        if self.critical_threshold >= self.warning_threshold:
            raise ValueError("quotas.critical_threshold must be below quotas.warning_threshold")
        names = [b.name for b in self.budgets]
        if len(names) != len(set(names)):
            raise ValueError("budget names must be unique")
        return self

    @field_validator("pool_thresholds")
    @classmethod
    def _pool_thresholds(cls, value: dict[str, list[float]]) -> dict[str, list[float]]:
        return {name: _check_thresholds(levels) for name, levels in value.items()}

    def pool_name(self, model: str) -> str:
        """Where a model's thinking and flow credits go: its shared pool, or the model itself."""
        for pool, models in self.shared_pools.items():
            if model in models:
                return pool
        return model

    @property
    def default_thresholds(self) -> list[float]:
        return [self.warning_threshold, self.critical_threshold]
