"""PNG charts for operators, drawn with matplotlib's non-interactive backend."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt

from chatops.models import MetricPoint


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
        rss_axis.xaxis_date(tz=UTC)
        rss_axis.xaxis.set_major_formatter(
            mdates.DateFormatter("%H:%M", tz=UTC)  # type: ignore[no-untyped-call]
        )
        rss_axis.set_title(title)
        rss_axis.grid(alpha=0.3)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(fig)
