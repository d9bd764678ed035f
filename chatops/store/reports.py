"""Read-only aggregates behind the status, features and usage views."""

from __future__ import annotations

from typing import Any

from chatops.store.store import Store, bounded_int, finite
from chatops.timeutil import from_sqlite, to_sqlite


class ReportQueries:
    """Read-only aggregates behind the status, features and usage views."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def metrics_series(self, channel: str, since: float) -> list[tuple[float, float, float]]:
        rows = await self._store._fetchall(
            "SELECT ts, rss_mb, cpu_pct FROM bot_metrics WHERE channel = ? AND ts >= ? ORDER BY ts",
            (channel, to_sqlite(since)),
        )
        return [(from_sqlite(r["ts"]), r["rss_mb"] or 0.0, r["cpu_pct"] or 0.0) for r in rows]

    async def average_rss(self, since: float) -> list[tuple[str, float, str]]:
        """Per bot: mean RSS since ``since`` and the features it last reported."""
        rows = await self._store._fetchall(
            "SELECT m.channel AS channel, AVG(m.rss_mb) AS rss, s.features_json AS features "
            "FROM bot_metrics m JOIN bot_status s ON s.channel = m.channel "
            "WHERE m.ts >= ? AND m.rss_mb IS NOT NULL GROUP BY m.channel",
            (to_sqlite(since),),
        )
        return [(r["channel"], float(r["rss"]), r["features"] or "{}") for r in rows]

    async def average_cpu(self, since: float) -> dict[str, float]:
        rows = await self._store._fetchall(
            "SELECT channel, AVG(cpu_pct) AS cpu FROM bot_metrics WHERE ts >= ? "
            "AND cpu_pct IS NOT NULL GROUP BY channel",
            (to_sqlite(since),),
        )
        return {r["channel"]: float(r["cpu"]) for r in rows}

    async def usage_breakdown(
        self, channel: str | None, days: int, group_by: str
    ) -> list[dict[str, Any]]:
        if group_by not in ("model", "feature"):
            raise ValueError("group_by must be model or feature")
        where = "ts > datetime('now', ?)"
        params: list[Any] = [f"-{int(days)} days"]
        if channel is not None:
            where += " AND channel = ?"
            params.append(channel)
        rows = await self._store._fetchall(
            f"SELECT COALESCE({group_by}, '(none)') AS name, COUNT(*) AS calls, "
            "TOTAL(tokens_in) AS tokens_in, TOTAL(tokens_out) AS tokens_out, "
            "TOTAL(estimated_cost) AS cost, AVG(latency_ms) AS latency "
            f"FROM llm_usage WHERE {where} GROUP BY name ORDER BY cost DESC, calls DESC",
            tuple(params),
        )
        return [
            {
                **dict(r),
                "tokens_in": bounded_int(r["tokens_in"]),
                "tokens_out": bounded_int(r["tokens_out"]),
                "cost": finite(r["cost"]),
            }
            for r in rows
        ]
