"""PNG charts for operators, drawn with matplotlib's non-interactive backend."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt

from chatops.records.fleet import MetricPoint


def resource_chart(title: str, series: Sequence[MetricPoint]) -> bytes:
    """RSS (MB) and CPU (%) over time as a PNG. CPU-bound: call it from a worker thread."""
    times = mdates.date2num(  # type: ignore[no-untyped-call]
        [datetime.fromtimestamp(point.ts, UTC) for point in series]
    )
    fig, rss_axis = plt.subplots(figsize=(8, 3.2), dpi=100)
    try:
        rss_axis.plot(times, [point.rss_mb for point in series], color="#3498db", label="RSS (MB)")
        rss_axis.set_ylabel("RSS (MB)", color="#3498db")
        rss_axis.set_ylim(bottom=0)
        cpu_axis = rss_axis.twinx()
        cpu_axis.plot(times, [point.cpu_pct for point in series], color="#e67e22", label="CPU (%)")
        cpu_axis.set_ylabel("CPU (%)", color="#e67e22")
        cpu_axis.set_ylim(bottom=0)
        return _finish(fig, rss_axis, title, "%H:%M")
    finally:
        plt.close(fig)


def _finish(fig: Any, axis: Any, title: str, time_format: str) -> bytes:
    """Time on the x axis (UTC), the title, a light grid, and the figure as PNG bytes."""
    axis.xaxis_date(tz=UTC)
    axis.xaxis.set_major_formatter(
        mdates.DateFormatter(time_format, tz=UTC)  # type: ignore[no-untyped-call]
    )
    axis.set_title(title)
    axis.grid(alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def quota_chart(
    title: str,
    samples: Sequence[tuple[float, float]],
    thresholds: Sequence[float],
    *,
    resets: Sequence[float] = (),
    forecast: tuple[tuple[float, float], tuple[float, float]] | None = None,
) -> bytes:
    """% left over time as a PNG, with the thresholds, the resets and the forecast to the next
    reset (or to exhaustion). CPU-bound: call it from a worker thread."""

    def num(ts: float) -> Any:
        return mdates.date2num(datetime.fromtimestamp(ts, UTC))  # type: ignore[no-untyped-call]

    fig, axis = plt.subplots(figsize=(8, 3.2), dpi=100)
    try:
        axis.plot([num(t) for t, _ in samples], [p for _, p in samples], color="#3498db")
        for threshold in thresholds:
            axis.axhline(threshold, color="#e67e22", linestyle=":", linewidth=1)
        for reset in resets:
            axis.axvline(num(reset), color="#2ecc71", linestyle="--", linewidth=1)
        if forecast is not None:
            (t0, p0), (t1, p1) = forecast
            axis.plot([num(t0), num(t1)], [p0, p1], color="#e74c3c", linestyle="--")
        axis.set_ylim(0, 100)
        axis.set_ylabel("% left")
        return _finish(fig, axis, title, "%d %H:%M")
    finally:
        plt.close(fig)
