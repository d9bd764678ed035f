"""When a budget's period starts and ends: calendar days, weeks (from Monday) and months in the
budget's time zone, so "today" ends at local midnight, daylight saving included."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Period = Literal["day", "week", "month"]


def period_bounds(ts: float, period: Period, zone: str) -> tuple[float, float]:
    """The start and end (epoch seconds) of the ``period`` containing ``ts`` in ``zone``."""
    tz = ZoneInfo(zone)
    local = datetime.fromtimestamp(ts, tz)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "week":
        start -= timedelta(days=start.weekday())
    elif period == "month":
        start = start.replace(day=1)
    if period == "day":
        end = _next_day(start, 1)
    elif period == "week":
        end = _next_day(start, 7)
    else:
        year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
        end = start.replace(year=year, month=month)
    # Rebuilt from the wall-clock fields: the offset of the boundary's own date applies.
    return _aware(start, tz).timestamp(), _aware(end, tz).timestamp()


def _next_day(start: datetime, days: int) -> datetime:
    return (start.replace(tzinfo=None) + timedelta(days=days)).replace(tzinfo=start.tzinfo)


def _aware(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.replace(tzinfo=None).replace(tzinfo=tz)
