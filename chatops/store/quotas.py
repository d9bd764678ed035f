"""Quota tables: each budget's announced levels per period, and the usage sums that rebuild a
budget's running total at start (the only time ``llm_usage`` is scanned for a budget)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from chatops.records.quotas import PoolRecord, QuotaState, UsageScope
from chatops.store.database import Database, finite
from chatops.timeutil import from_sqlite, to_sqlite

_UPSERT_STATE = """
INSERT INTO quota_state (name, period_start, level, alerted) VALUES (?, ?, ?, ?)
ON CONFLICT(name) DO UPDATE SET
    period_start = excluded.period_start, level = excluded.level, alerted = excluded.alerted
"""
_UPSERT_POOL = """
INSERT INTO quota_pools (name, family, models_json, used, credit_limit, resets_at, window,
                         updated_at, reported_by)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(name) DO UPDATE SET
    family = excluded.family, models_json = excluded.models_json, used = excluded.used,
    credit_limit = excluded.credit_limit, resets_at = excluded.resets_at,
    window = excluded.window, updated_at = excluded.updated_at,
    reported_by = excluded.reported_by
"""
_UPSERT_OVERRIDE = """
INSERT INTO quota_overrides (name, credit_limit, thresholds_json, updated_by, updated_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT(name) DO UPDATE SET
    credit_limit = excluded.credit_limit, thresholds_json = excluded.thresholds_json,
    updated_by = excluded.updated_by, updated_at = excluded.updated_at
"""
_INSERT_SAMPLE = "INSERT INTO quota_history (ts, name, pct_left) VALUES (?, ?, ?)"
# Older than a day: one sample per pool per 5 minutes is kept; older than the history: none.
_DOWNSAMPLE = """
DELETE FROM quota_history WHERE ts < :day AND id NOT IN (
    SELECT MIN(id) FROM quota_history WHERE ts < :day
    GROUP BY name, CAST(strftime('%s', ts) AS INTEGER) / 300)
"""
_EXPIRE = "DELETE FROM quota_history WHERE ts < :oldest"
METRIC_SQL = {
    "tokens_in": "TOTAL(tokens_in)",
    "tokens_out": "TOTAL(tokens_out)",
    "tokens": "TOTAL(tokens_in) + TOTAL(tokens_out)",
    "calls": "COUNT(*)",
    "cost": "TOTAL(estimated_cost)",
}


class QuotaTables:
    def __init__(self, db: Database) -> None:
        self._db = db

    def save_state(self, name: str, period_start: float, level: int, alerted: set[int]) -> None:
        self._db.writer.put(
            _UPSERT_STATE,
            name,
            lambda: (name, period_start, level, json.dumps(sorted(alerted))),
        )

    async def states(self) -> dict[str, QuotaState]:
        rows = await self._db.fetchall("SELECT name, period_start, level, alerted FROM quota_state")
        return {
            row["name"]: QuotaState(
                row["name"],
                row["period_start"],
                row["level"],
                frozenset(int(level) for level in json.loads(row["alerted"] or "[]")),
            )
            for row in rows
        }

    def save_pool(self, pool: PoolRecord) -> None:
        self._db.writer.put(
            _UPSERT_POOL,
            pool.name,
            lambda: (
                pool.name,
                pool.family,
                json.dumps(list(pool.models)),
                pool.used,
                pool.limit,
                pool.resets_at,
                pool.window,
                to_sqlite(pool.updated_at),
                pool.reported_by,
            ),
        )

    async def pools(self) -> list[PoolRecord]:
        rows = await self._db.fetchall(
            "SELECT name, family, models_json, used, credit_limit, resets_at, window, updated_at, "
            "reported_by "
            "FROM quota_pools ORDER BY name"
        )
        return [
            PoolRecord(
                name=row["name"],
                family=row["family"],
                models=tuple(json.loads(row["models_json"] or "[]")),
                used=row["used"],
                limit=row["credit_limit"],
                resets_at=row["resets_at"],
                window=row["window"],
                updated_at=from_sqlite(row["updated_at"]),
                reported_by=row["reported_by"],
            )
            for row in rows
        ]

    def save_override(
        self, name: str, limit: float, thresholds: list[float] | None, by: str, now: float
    ) -> None:
        """A budget changed at runtime: what, by whom, when (the latest change is kept)."""
        row = (name, limit, None if thresholds is None else json.dumps(thresholds), by)
        self._db.writer.add(_UPSERT_OVERRIDE, (*row, to_sqlite(now)))

    async def overrides(self) -> dict[str, tuple[float, list[float] | None]]:
        rows = await self._db.fetchall(
            "SELECT name, credit_limit, thresholds_json FROM quota_overrides"
        )
        return {
            row["name"]: (
                row["credit_limit"],
                None if row["thresholds_json"] is None else json.loads(row["thresholds_json"]),
            )
            for row in rows
        }

    def add_sample(self, ts: float, name: str, pct_left: float) -> None:
        self._db.writer.add(_INSERT_SAMPLE, (to_sqlite(ts), name, pct_left))

    async def history(self, name: str, since: float) -> list[tuple[float, float]]:
        rows = await self._db.fetchall(
            "SELECT ts, pct_left FROM quota_history WHERE name = ? AND ts >= ? ORDER BY ts",
            (name, to_sqlite(since)),
        )
        return [(from_sqlite(row["ts"]), row["pct_left"]) for row in rows]

    async def compact_history(self, now: float, max_days: int) -> int:
        """Raw samples for a day, then one per 5 minutes, for ``max_days``."""

        def job(conn: sqlite3.Connection) -> int:
            day = to_sqlite(now - 86400)
            removed = conn.execute(_DOWNSAMPLE, {"day": day}).rowcount
            oldest = to_sqlite(now - max_days * 86400)
            return int(removed + conn.execute(_EXPIRE, {"oldest": oldest}).rowcount)

        return int(await self._db.writer.run(job))

    async def models_since(self, since: float) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT DISTINCT model FROM llm_usage WHERE ts >= ?", (to_sqlite(since),)
        )
        return [row["model"] for row in rows]

    async def usage_cut(self) -> int:
        """The last ``llm_usage`` row committed when the writer's next batch commits: the rows a
        rebuild counts (``upto``). Read inside the writer's transaction, so every usage event
        published before this returns is at or under it, every one published after is above."""

        def job(conn: sqlite3.Connection) -> int:
            return int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM llm_usage").fetchone()[0])

        return int(await self._db.writer.run(job))

    async def usage_since(
        self, since: float, metric: str, scope: UsageScope, upto: int | None = None
    ) -> float:
        """The budget's total since ``since`` (rows up to id ``upto``): once per budget at
        start."""
        where, params = _where(since, scope, upto)
        rows = await self._db.fetchall(
            f"SELECT {METRIC_SQL[metric]} AS total FROM llm_usage WHERE {where}", params
        )
        return finite(rows[0]["total"] or 0.0)

    async def usage_events_since(
        self, since: float, metric: str, scope: UsageScope, upto: int | None = None
    ) -> list[tuple[float, float]]:
        """(minute, sum) since ``since`` (rows up to id ``upto``): a rolling window's contents
        at start."""
        where, params = _where(since, scope, upto)
        rows = await self._db.fetchall(
            f"SELECT CAST(strftime('%s', ts) AS INTEGER) / 60 * 60 AS t, "
            f"TOTAL({_EVENT_VALUE[metric]}) AS v FROM llm_usage WHERE {where} "
            "GROUP BY t ORDER BY t",
            params,
        )
        return [(float(row["t"]), float(row["v"] or 0.0)) for row in rows]


_EVENT_VALUE = {
    "tokens_in": "tokens_in",
    "tokens_out": "tokens_out",
    "tokens": "tokens_in + tokens_out",
    "calls": "1",
    "cost": "estimated_cost",
}


def _where(since: float, scope: UsageScope, upto: int | None = None) -> tuple[str, tuple[Any, ...]]:
    where = ["ts >= ?"]
    params: list[Any] = [to_sqlite(since)]
    if upto is not None:
        where.append("id <= ?")
        params.append(upto)
    if scope.models is not None:
        where.append(f"model IN ({', '.join('?' * len(scope.models))})")
        params.extend(scope.models)
    if scope.bot is not None:
        where.append("channel = ?")
        params.append(scope.bot)
    if scope.feature is not None:
        where.append("feature = ?")
        params.append(scope.feature)
    return " AND ".join(where), tuple(params)
