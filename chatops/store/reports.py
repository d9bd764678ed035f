"""Read-only aggregates behind the status and features views."""

from __future__ import annotations

from chatops.records.fleet import MetricPoint
from chatops.store.database import Database
from chatops.timeutil import from_sqlite, to_sqlite


class ReportQueries:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def metrics_series(self, channel: str, since: float) -> list[MetricPoint]:
        rows = await self._db.fetchall(
            "SELECT ts, rss_mb, cpu_pct FROM bot_metrics WHERE channel = ? AND ts >= ? ORDER BY ts",
            (channel, to_sqlite(since)),
        )
        return [
            MetricPoint(from_sqlite(r["ts"]), r["rss_mb"] or 0.0, r["cpu_pct"] or 0.0) for r in rows
        ]

    async def average_rss(self, since: float) -> list[tuple[str, float, str]]:
        """Per bot: mean RSS since ``since`` and the features it last reported."""
        rows = await self._db.fetchall(
            "SELECT m.channel AS channel, AVG(m.rss_mb) AS rss, s.features_json AS features "
            "FROM bot_metrics m JOIN bot_status s ON s.channel = m.channel "
            "WHERE m.ts >= ? AND m.rss_mb IS NOT NULL GROUP BY m.channel",
            (to_sqlite(since),),
        )
        return [(r["channel"], float(r["rss"]), r["features"] or "{}") for r in rows]

    async def average_cpu(self, since: float) -> dict[str, float]:
        rows = await self._db.fetchall(
            "SELECT channel, AVG(cpu_pct) AS cpu FROM bot_metrics WHERE ts >= ? "
            "AND cpu_pct IS NOT NULL GROUP BY channel",
            (to_sqlite(since),),
        )
        return {r["channel"]: float(r["cpu"]) for r in rows}
