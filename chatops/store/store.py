"""SQLite store: schema upgrades at open, group-committed writes, queries on a read connection.

Writes go through :class:`~chatops.store.writer.GroupCommitWriter` on one connection; reads use a
second, read-only connection so a long query never holds up ingest (WAL lets both run at once).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import sqlite3
import sys
from pathlib import Path
from typing import Any

import aiosqlite

from chatops.models import AgentState, BotState, BotStatus, FleetEvent
from chatops.store.db import StoreError, open_write_connection
from chatops.store.retention import RETENTION_STATEMENTS
from chatops.store.writer import CommitCallback, GroupCommitWriter
from chatops.timeutil import from_sqlite, to_sqlite

log = logging.getLogger(__name__)

_UPSERT_BOT = """
INSERT INTO bot_status (channel, pid, status, features_json, registered_at, last_heartbeat,
                        host, rss_mb, cpu_pct, status_changed_at, uid)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(channel) DO UPDATE SET
    pid = excluded.pid, status = excluded.status, features_json = excluded.features_json,
    registered_at = excluded.registered_at, last_heartbeat = excluded.last_heartbeat,
    host = excluded.host, rss_mb = excluded.rss_mb, cpu_pct = excluded.cpu_pct,
    status_changed_at = excluded.status_changed_at, uid = excluded.uid
"""
_INSERT_METRICS = (
    "INSERT INTO bot_metrics (ts, channel, pid, rss_mb, cpu_pct, features_json) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_INSERT_USAGE = (
    "INSERT INTO llm_usage (ts, channel, model, feature, tokens_in, tokens_out, latency_ms, "
    "estimated_cost) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_KEY = "INSERT OR IGNORE INTO idempotency_keys (key, ts) VALUES (?, ?)"
_INSERT_EVENT = (
    "INSERT INTO events (ts, channel, kind, old_status, new_status, detail) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_UPSERT_AGENT = """
INSERT INTO agents (name, agent_type, channel, status, current_task, error_message,
                    tasks_completed, tasks_failed, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(name) DO UPDATE SET
    agent_type = excluded.agent_type, channel = excluded.channel, status = excluded.status,
    current_task = excluded.current_task, error_message = excluded.error_message,
    tasks_completed = excluded.tasks_completed, tasks_failed = excluded.tasks_failed,
    updated_at = excluded.updated_at
"""
_INSERT_TASK = (
    "INSERT INTO agent_tasks (ts, agent, task, success, duration_ms, error_message) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_INSERT_CONTROLLER = (
    "INSERT INTO controller_metrics (ts, rss_mb, cpu_pct, host_cpu_pct, host_mem_pct, load_1m) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


class Store:
    def __init__(
        self,
        path: Path,
        reader: aiosqlite.Connection,
        writer: GroupCommitWriter,
    ) -> None:
        self.path = path
        self._reader = reader
        self.writer = writer

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        synchronous: str = "full",
        max_delay: float = 0.01,
        max_batch: int = 20000,
    ) -> Store:
        conn = await asyncio.to_thread(open_write_connection, path, synchronous)
        try:
            reader = await aiosqlite.connect(f"file:{path}?mode=ro", uri=True)
            async with reader.execute("PRAGMA busy_timeout=5000"):
                pass
        except sqlite3.Error as exc:
            conn.close()
            raise StoreError(f"cannot open database {path} for reading: {exc}") from exc
        writer = GroupCommitWriter(conn, max_delay=max_delay, max_batch=max_batch)
        writer.start()
        return cls(path, reader, writer)

    @property
    def degraded(self) -> str | None:
        """Why the store is failing its commits right now (the latest error), or None."""
        if self.writer.failing_since is None:
            return None
        return f"storage failing: {self.writer.last_error}"

    async def close(self) -> None:
        await self.writer.close()
        await self._reader.close()

    # -- writes (queued, group-committed) --------------------------------------------------------

    def save_bot(self, bot: BotState) -> None:
        """Queue the bot's status row; it is read from ``bot`` at commit time, so a thousand
        heartbeats in one batch cost one row."""

        def row() -> tuple[Any, ...]:
            return (
                bot.channel,
                bot.pid,
                str(bot.status),
                bot.features_json,
                to_sqlite(bot.registered_at),
                to_sqlite(bot.last_heartbeat),
                bot.host,
                bot.rss_mb,
                bot.cpu_pct,
                to_sqlite(bot.status_changed_at),
                bot.uid,
            )

        self.writer.put(_UPSERT_BOT, bot.channel, row)

    def add_metrics(self, bot: BotState, ts: float) -> None:
        self.writer.add(
            _INSERT_METRICS,
            (
                to_sqlite(ts),
                bot.channel,
                bot.pid,
                bot.rss_mb,
                bot.cpu_pct,
                bot.features_json,
            ),
        )

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
        self._add_keyed(_INSERT_USAGE, row, key, received_at)

    def _add_keyed(
        self, statement: str, row: tuple[Any, ...], key: str | None, received_at: float
    ) -> None:
        """Queue an event row and its idempotency key together: one batch, one transaction."""
        if key is not None:
            self.writer.add(_INSERT_KEY, (key, to_sqlite(received_at)))
        self.writer.add(statement, row)

    def add_event(self, event: FleetEvent) -> None:
        self.writer.add(
            _INSERT_EVENT,
            (
                to_sqlite(event.ts),
                event.channel,
                event.kind,
                event.old_status,
                event.new_status,
                event.detail,
            ),
        )

    def save_agent(self, agent: AgentState) -> None:
        self.writer.put(
            _UPSERT_AGENT,
            agent.name,
            lambda: (
                agent.name,
                agent.agent_type,
                agent.channel,
                agent.status,
                agent.current_task,
                agent.error_message,
                agent.tasks_completed,
                agent.tasks_failed,
                to_sqlite(agent.updated_at),
            ),
        )

    def add_task(
        self,
        ts: float,
        agent: str,
        task: str | None,
        success: bool,
        duration_ms: int | None,
        error_message: str | None,
        *,
        key: str | None = None,
        received_at: float,
    ) -> None:
        row = (to_sqlite(ts), agent, task, int(success), duration_ms, error_message)
        self._add_keyed(_INSERT_TASK, row, key, received_at)

    def add_controller_metrics(
        self,
        ts: float,
        rss_mb: float,
        cpu_pct: float,
        host_cpu_pct: float,
        host_mem_pct: float,
        load_1m: float,
    ) -> None:
        self.writer.add(
            _INSERT_CONTROLLER,
            (to_sqlite(ts), rss_mb, cpu_pct, host_cpu_pct, host_mem_pct, load_1m),
        )

    def after_commit(self, callback: CommitCallback) -> None:
        self.writer.after_commit(callback)

    async def flush(self) -> None:
        await self.writer.flush()

    # -- retention -------------------------------------------------------------------------------

    async def purge_batch(self, table: str, cutoff: float, batch_size: int) -> int:
        """Delete up to ``batch_size`` expired rows of ``table`` in one short transaction, so
        ingest never waits long behind the retention job."""
        statement = RETENTION_STATEMENTS[table]

        def job(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(statement, {"n": batch_size, "cutoff": to_sqlite(cutoff)})
            return int(cursor.rowcount)

        return int(await self.writer.run(job))

    # -- reads -----------------------------------------------------------------------------------

    async def _fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        self._reader.row_factory = sqlite3.Row
        async with self._reader.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def load_bots(self) -> list[BotState]:
        rows = await self._fetchall(
            "SELECT channel, pid, status, features_json, registered_at, last_heartbeat, host, "
            "rss_mb, cpu_pct, status_changed_at, uid FROM bot_status ORDER BY channel"
        )
        return [bot_from_row(row) for row in rows]

    async def load_agents(self) -> list[AgentState]:
        rows = await self._fetchall(
            "SELECT name, agent_type, channel, status, current_task, error_message, "
            "tasks_completed, tasks_failed, updated_at FROM agents ORDER BY name"
        )
        return [
            AgentState(
                name=row["name"],
                agent_type=row["agent_type"],
                channel=row["channel"],
                status=row["status"],
                current_task=row["current_task"],
                error_message=row["error_message"],
                tasks_completed=row["tasks_completed"],
                tasks_failed=row["tasks_failed"],
                updated_at=from_sqlite(row["updated_at"]),
            )
            for row in rows
        ]

    async def load_keys(self, since: float) -> set[str]:
        rows = await self._fetchall(
            "SELECT key FROM idempotency_keys WHERE ts >= ?", (to_sqlite(since),)
        )
        return {row["key"] for row in rows}

    async def usage_stats(self, channel: str | None, days: int) -> dict[str, Any]:
        """The seed's ``get_usage_stats`` keys, computed over the last ``days`` days."""
        where = "ts > datetime('now', ?)"
        params: list[Any] = [f"-{int(days)} days"]
        if channel is not None:
            where += " AND channel = ?"
            params.append(channel)
        rows = await self._fetchall(
            # TOTAL() sums in floating point: it never raises "integer overflow", whatever an
            # older version may have stored.
            "SELECT COUNT(*) AS calls, TOTAL(tokens_in) AS total_tokens_in, "
            "TOTAL(tokens_out) AS total_tokens_out, "
            "TOTAL(estimated_cost) AS total_cost, AVG(latency_ms) AS avg_latency_ms "
            f"FROM llm_usage WHERE {where}",
            tuple(params),
        )
        row = rows[0]
        return {
            "channel": channel,
            "days": days,
            "total_calls": int(row["calls"]),
            "total_tokens_in": bounded_int(row["total_tokens_in"]),
            "total_tokens_out": bounded_int(row["total_tokens_out"]),
            "total_cost": finite(row["total_cost"]),
            "avg_latency_ms": (
                None if row["avg_latency_ms"] is None else finite(row["avg_latency_ms"])
            ),
        }

    async def recent_events(self, channel: str | None = None, limit: int = 20) -> list[FleetEvent]:
        sql = "SELECT ts, channel, kind, old_status, new_status, detail FROM events"
        params: tuple[Any, ...] = ()
        if channel is not None:
            sql += " WHERE channel = ?"
            params = (channel,)
        rows = await self._fetchall(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))
        return [
            FleetEvent(
                ts=from_sqlite(row["ts"]),
                channel=row["channel"],
                kind=row["kind"],
                old_status=row["old_status"],
                new_status=row["new_status"],
                detail=row["detail"],
            )
            for row in rows
        ]


_LARGEST = 2.0**63 - 1


def finite(value: float) -> float:
    """A sum as JSON can carry it: rows stored before values were bounded may add up to inf."""
    return min(float(value), sys.float_info.max) if not math.isnan(value) else 0.0


def bounded_int(value: float) -> int:
    return int(min(float(value), _LARGEST))


def bot_from_row(row: sqlite3.Row | dict[str, Any]) -> BotState:
    def ts(value: str | None) -> float:
        return from_sqlite(value) if value else 0.0

    try:
        status = BotStatus(row["status"])
    except ValueError:
        status = BotStatus.DOWN
    bot = BotState(
        channel=row["channel"],
        pid=row["pid"],
        status=status,
        registered_at=ts(row["registered_at"]),
        last_heartbeat=ts(row["last_heartbeat"]),
        status_changed_at=ts(row["status_changed_at"]) or ts(row["last_heartbeat"]),
        host=row["host"],
        rss_mb=row["rss_mb"],
        cpu_pct=row["cpu_pct"],
        uid=row["uid"],
    )
    try:
        features = json.loads(row["features_json"] or "{}")
    except ValueError:
        features = {}
    bot.set_features(features if isinstance(features, dict) else {})
    return bot
