"""What the retention job deletes: one bounded statement per table, by time."""

from __future__ import annotations


def _by_time(table: str) -> str:
    """Up to :n expired rows wherever they sit (a spool replayed late, a skewed clock), found
    through the table's index on ts, so each batch is a short transaction."""
    return (
        f"DELETE FROM {table} WHERE rowid IN "
        f"(SELECT rowid FROM {table} WHERE ts < :cutoff LIMIT :n)"
    )


# What the retention job trims, one bounded DELETE per table. Alerting rows go only once they
# are settled: a delivered (or abandoned) outbox entry, a resolved incident, an ended silence.
RETENTION_STATEMENTS: dict[str, str] = {
    "bot_metrics": _by_time("bot_metrics"),
    "llm_usage": _by_time("llm_usage"),
    "events": _by_time("events"),
    "agent_tasks": _by_time("agent_tasks"),
    "controller_metrics": _by_time("controller_metrics"),
    "usage_running_totals": _by_time("usage_running_totals"),
    "idempotency_keys": (
        "DELETE FROM idempotency_keys WHERE key IN "
        "(SELECT key FROM idempotency_keys WHERE ts < :cutoff LIMIT :n)"
    ),
    "alert_outbox": (
        "DELETE FROM alert_outbox WHERE id IN (SELECT id FROM alert_outbox WHERE "
        "created_at < :cutoff AND (delivered_at IS NOT NULL OR next_attempt_at >= 1e18) "
        "LIMIT :n)"
    ),
    "approvals": (
        "DELETE FROM approvals WHERE id IN (SELECT id FROM approvals WHERE "
        "requested_at < :cutoff AND state != 'pending' AND message_closed = 1 LIMIT :n)"
    ),
    "incidents": (
        "DELETE FROM incidents WHERE id IN (SELECT id FROM incidents WHERE "
        "resolved_at IS NOT NULL AND resolved_at < :cutoff LIMIT :n)"
    ),
}
