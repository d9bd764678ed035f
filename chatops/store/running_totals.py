"""The ``usage_running_totals`` table: each coding-agent session's last running totals per
model, read back at start so a report already counted before a restart is not counted again."""

from __future__ import annotations

from chatops.records.usage import RunningTotals
from chatops.store.database import Database
from chatops.timeutil import from_sqlite, to_sqlite

RunningKey = tuple[str, str, str]
"""(channel, session, model)."""

_UPSERT = (
    "INSERT INTO usage_running_totals "
    "(channel, session, model, cost, tokens_in, tokens_out, generation, ts) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel, session, model) DO UPDATE SET "
    "cost = excluded.cost, tokens_in = excluded.tokens_in, tokens_out = excluded.tokens_out, "
    "generation = excluded.generation, ts = excluded.ts"
)


class RunningTotalsTables:
    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, key: RunningKey, totals: RunningTotals) -> None:
        """Queue the totals, in the same batch (hence transaction) as the usage row they
        produce; a later save of the same key in the batch replaces this one."""
        row = (
            *key,
            totals.cost,
            totals.tokens_in,
            totals.tokens_out,
            totals.generation,
            to_sqlite(totals.ts),
        )
        self._db.writer.put(_UPSERT, ("running_totals", key), lambda: row)

    async def load(self, since: float) -> dict[RunningKey, RunningTotals]:
        """Every session's totals received since ``since`` (older ones were trimmed with the
        usage rows they produced)."""
        rows = await self._db.fetchall(
            "SELECT channel, session, model, cost, tokens_in, tokens_out, generation, ts "
            "FROM usage_running_totals WHERE ts >= ?",
            (to_sqlite(since),),
        )
        return {
            (str(r["channel"]), str(r["session"]), str(r["model"])): RunningTotals(
                cost=float(r["cost"]),
                tokens_in=int(r["tokens_in"]),
                tokens_out=int(r["tokens_out"]),
                generation=int(r["generation"]),
                ts=from_sqlite(str(r["ts"])),
            )
            for r in rows
        }
