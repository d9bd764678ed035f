"""The fleet's tables: ``bot_status`` (each bot's last known state), ``bot_metrics`` (its RSS
and CPU samples) and ``events`` (every transition), with their row mapping."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

from chatops.records.fleet import BotState, BotStatus, FleetEvent
from chatops.store.database import Database
from chatops.timeutil import from_sqlite, to_sqlite

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
_INSERT_EVENT = (
    "INSERT INTO events (ts, channel, kind, old_status, new_status, detail) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
BOT_COLUMNS = (
    "channel",
    "pid",
    "status",
    "features_json",
    "registered_at",
    "last_heartbeat",
    "host",
    "rss_mb",
    "cpu_pct",
    "status_changed_at",
    "uid",
)


class FleetTables:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._writer = db.writer  # every heartbeat comes through here: one lookup less
        self._row_of: dict[str, tuple[BotState, Callable[[], tuple[Any, ...]]]] = {}
        """Each bot's status-row maker, made once: a closure made per heartbeat lived until the
        commit, and the garbage collector's passes over 10,000 a second cost more than the
        heartbeats themselves."""

    def save_bot(self, bot: BotState) -> None:
        """Queue the bot's status row; it is read from ``bot`` at commit time, so a thousand
        heartbeats in one batch cost one row."""
        made = self._row_of.get(bot.channel)
        if made is None or made[0] is not bot:
            made = self._row_of[bot.channel] = (bot, _status_row(bot))
        self._writer.put(_UPSERT_BOT, bot.channel, made[1])

    def add_metrics(self, bot: BotState, ts: float) -> None:
        self._writer.add(
            _INSERT_METRICS,
            (to_sqlite(ts), bot.channel, bot.pid, bot.rss_mb, bot.cpu_pct, bot.features_json),
        )

    def add_event(self, event: FleetEvent) -> None:
        self._db.writer.add(
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

    def delete_bot(self, channel: str) -> None:
        self._row_of.pop(channel, None)
        self._db.writer.add("DELETE FROM bot_status WHERE channel = ?", (channel,))

    async def load_bots(self) -> list[BotState]:
        rows = await self._db.fetchall(
            f"SELECT {', '.join(BOT_COLUMNS)} FROM bot_status ORDER BY channel"
        )
        return [bot_from_row(row) for row in rows]

    async def recent_events(self, channel: str | None = None, limit: int = 20) -> list[FleetEvent]:
        sql = "SELECT ts, channel, kind, old_status, new_status, detail FROM events"
        params: tuple[Any, ...] = ()
        if channel is not None:
            sql += " WHERE channel = ?"
            params = (channel,)
        rows = await self._db.fetchall(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))
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


def _status_row(bot: BotState) -> Callable[[], tuple[Any, ...]]:
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

    return row


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
