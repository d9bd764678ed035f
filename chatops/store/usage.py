"""The ``llm_usage`` table (one row per LLM call): exactly-once inserts and the sums behind
usage views.

Windows start at a time the caller passes (the injected clock's), never SQLite's own
``datetime('now')``, so they can be tested.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from chatops.records.usage import UsageBucket, UsageGroup, UsageTotals
from chatops.store.database import Database, bounded_int, finite
from chatops.timeutil import to_sqlite

_INSERT_USAGE = (
    "INSERT INTO llm_usage (ts, channel, model, feature, tokens_in, tokens_out, latency_ms, "
    "estimated_cost) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
# TOTAL() sums in floating point: it never raises "integer overflow", whatever an older
# version may have stored.
_SUMS = (
    "COUNT(*) AS calls, TOTAL(tokens_in) AS tokens_in, TOTAL(tokens_out) AS tokens_out, "
    "TOTAL(estimated_cost) AS cost, AVG(latency_ms) AS latency"
)


class UsageTables:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add_llm_usage(
        self,
        ts: float,
        channel: str,
        model: str,
        feature: str | None,
        tokens_in: int,
        tokens_out: int,
        latency_ms: int | None,
        estimated_cost: float,
        *,
        key: str | None = None,
        received_at: float,
    ) -> None:
        row = (
            to_sqlite(ts),
            channel,
            model,
            feature,
            tokens_in,
            tokens_out,
            latency_ms,
            estimated_cost,
        )
        self._db.add_keyed(_INSERT_USAGE, row, key, received_at)

    def _window(self, since: float, channel: str | None) -> tuple[str, tuple[Any, ...]]:
        if channel is None:
            return "ts > ?", (to_sqlite(since),)
        return "ts > ? AND channel = ?", (to_sqlite(since), channel)

    async def totals(self, channel: str | None, days: int, since: float) -> UsageTotals:
        """Calls, tokens, cost and mean latency over the rows newer than ``since``."""
        where, params = self._window(since, channel)
        rows = await self._db.fetchall(f"SELECT {_SUMS} FROM llm_usage WHERE {where}", params)
        row = rows[0]
        return UsageTotals(
            channel=channel,
            days=days,
            total_calls=int(row["calls"]),
            total_tokens_in=bounded_int(row["tokens_in"]),
            total_tokens_out=bounded_int(row["tokens_out"]),
            total_cost=finite(row["cost"]),
            avg_latency_ms=None if row["latency"] is None else finite(row["latency"]),
        )

    async def breakdown(
        self,
        channel: str | None,
        since: float,
        group_by: Literal["model", "feature", "channel"],
        *,
        limit: int | None = None,
    ) -> list[UsageGroup]:
        """Sums per model, feature or bot (``channel``), costliest first; the first ``limit``."""
        if group_by not in ("model", "feature", "channel"):
            raise ValueError("group_by must be model, feature or channel")
        where, params = self._window(since, channel)
        cap = "" if limit is None else f" LIMIT {int(limit)}"
        rows = await self._db.fetchall(
            f"SELECT COALESCE({group_by}, '(none)') AS name, {_SUMS} FROM llm_usage "
            f"WHERE {where} GROUP BY name ORDER BY cost DESC, calls DESC{cap}",
            params,
        )
        return [
            UsageGroup(
                name=str(r["name"]),
                calls=int(r["calls"]),
                tokens_in=bounded_int(r["tokens_in"]),
                tokens_out=bounded_int(r["tokens_out"]),
                cost=finite(r["cost"]),
                latency_ms=None if r["latency"] is None else finite(r["latency"]),
            )
            for r in rows
        ]

    async def timeline(self, channel: str | None, since: float, width: float) -> list[UsageBucket]:
        """Sums per slice of ``width`` seconds from ``since``, the slices with usage only
        (oldest first); a slice starts at ``since + n * width``."""
        origin = math.floor(since)  # what the stored text keeps of it
        where, params = self._window(since, channel)
        rows = await self._db.fetchall(
            "SELECT CAST((CAST(strftime('%s', ts) AS INTEGER) - ?) / ? AS INTEGER) AS slot, "
            f"{_SUMS} FROM llm_usage WHERE {where} GROUP BY slot ORDER BY slot",
            (origin, float(width), *params),
        )
        return [
            UsageBucket(
                start=origin + int(r["slot"]) * width,
                calls=int(r["calls"]),
                tokens_in=bounded_int(r["tokens_in"]),
                tokens_out=bounded_int(r["tokens_out"]),
                cost=finite(r["cost"]),
            )
            for r in rows
        ]
