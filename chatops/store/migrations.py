"""Versioned schema. ``PRAGMA user_version`` records how far a database has come.

Version 1 is the original schema verbatim (``bot_status``, ``bot_metrics``, ``llm_usage``, with
``IF NOT EXISTS`` so a database an earlier monitor created with it is adopted as is); later
versions only add, so older sqlite3 scripts that read those tables keep working on every
version.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: the original tables and indexes: the names, columns and defaults older scripts read.
    """
    CREATE TABLE IF NOT EXISTS bot_metrics (
        id INTEGER PRIMARY KEY,
        ts TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
        channel TEXT NOT NULL,
        pid INTEGER NOT NULL,
        rss_mb REAL,
        cpu_pct REAL,
        features_json TEXT
    );
    CREATE TABLE IF NOT EXISTS bot_status (
        id INTEGER PRIMARY KEY,
        channel TEXT UNIQUE NOT NULL,
        pid INTEGER NOT NULL,
        status TEXT DEFAULT 'online',
        features_json TEXT,
        registered_at TIMESTAMP,
        last_heartbeat TIMESTAMP DEFAULT CURRENT_TIMESTAMP
    );
    CREATE TABLE IF NOT EXISTS llm_usage (
        id INTEGER PRIMARY KEY,
        ts TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
        channel TEXT NOT NULL,
        model TEXT NOT NULL,
        feature TEXT,
        tokens_in INTEGER DEFAULT 0,
        tokens_out INTEGER DEFAULT 0,
        latency_ms INTEGER,
        estimated_cost REAL DEFAULT 0
    );
    CREATE INDEX IF NOT EXISTS idx_metrics_channel_ts ON bot_metrics(channel, ts);
    CREATE INDEX IF NOT EXISTS idx_llm_channel_ts ON llm_usage(channel, ts);
    CREATE INDEX IF NOT EXISTS idx_status_channel ON bot_status(channel);
    """,
    # 2: what the fleet state machine, the event bus, agents and exactly-once replay need.
    """
    ALTER TABLE bot_status ADD COLUMN host TEXT;
    ALTER TABLE bot_status ADD COLUMN rss_mb REAL;
    ALTER TABLE bot_status ADD COLUMN cpu_pct REAL;
    ALTER TABLE bot_status ADD COLUMN status_changed_at TIMESTAMP;
    CREATE TABLE IF NOT EXISTS events (
        id INTEGER PRIMARY KEY,
        ts TIMESTAMP NOT NULL,
        channel TEXT NOT NULL,
        kind TEXT NOT NULL,
        old_status TEXT,
        new_status TEXT,
        detail TEXT
    );
    CREATE INDEX IF NOT EXISTS idx_events_channel_ts ON events(channel, ts);
    CREATE TABLE IF NOT EXISTS agents (
        name TEXT PRIMARY KEY,
        agent_type TEXT,
        channel TEXT,
        status TEXT NOT NULL DEFAULT 'idle',
        current_task TEXT,
        error_message TEXT,
        tasks_completed INTEGER NOT NULL DEFAULT 0,
        tasks_failed INTEGER NOT NULL DEFAULT 0,
        updated_at TIMESTAMP NOT NULL
    );
    CREATE TABLE IF NOT EXISTS agent_tasks (
        id INTEGER PRIMARY KEY,
        ts TIMESTAMP NOT NULL,
        agent TEXT NOT NULL,
        task TEXT,
        success INTEGER NOT NULL,
        duration_ms INTEGER,
        error_message TEXT
    );
    CREATE INDEX IF NOT EXISTS idx_agent_tasks_agent_ts ON agent_tasks(agent, ts);
    CREATE TABLE IF NOT EXISTS idempotency_keys (
        key TEXT PRIMARY KEY,
        ts TIMESTAMP NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS controller_metrics (
        id INTEGER PRIMARY KEY,
        ts TIMESTAMP NOT NULL,
        rss_mb REAL,
        cpu_pct REAL,
        host_cpu_pct REAL,
        host_mem_pct REAL,
        load_1m REAL
    );
    """,
    # 3: alerting: incidents, a persistent outbox per sink, and silences.
    """
    CREATE TABLE IF NOT EXISTS incidents (
        id INTEGER PRIMARY KEY,
        channel TEXT NOT NULL,
        kind TEXT NOT NULL,
        opened_at TIMESTAMP NOT NULL,
        last_notified_at TIMESTAMP,
        resolved_at TIMESTAMP,
        detail TEXT
    );
    CREATE INDEX IF NOT EXISTS idx_incidents_open ON incidents(channel) WHERE resolved_at IS NULL;
    CREATE TABLE IF NOT EXISTS alert_outbox (
        id INTEGER PRIMARY KEY,
        created_at TIMESTAMP NOT NULL,
        sink TEXT NOT NULL,
        payload_json TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        delivered_at TIMESTAMP,
        last_error TEXT
    );
    CREATE INDEX IF NOT EXISTS idx_outbox_pending ON alert_outbox(next_attempt_at)
        WHERE delivered_at IS NULL;
    CREATE TABLE IF NOT EXISTS silences (
        id INTEGER PRIMARY KEY,
        channel TEXT,
        until REAL NOT NULL,
        created_at TIMESTAMP NOT NULL,
        created_by TEXT,
        reason TEXT
    );
    """,
    # 4: hardening. The registering uid; an index on ts for every table retention trims by time
    # (so rows stored late are found wherever they sit); the delivery group an outbox row was
    # sent in (so a resend after a crash is the same message, with the same nonce); a row the
    # controller rewrites at start to prove the database is writable.
    """
    ALTER TABLE bot_status ADD COLUMN uid INTEGER;
    CREATE INDEX IF NOT EXISTS idx_bot_metrics_ts ON bot_metrics(ts);
    CREATE INDEX IF NOT EXISTS idx_llm_usage_ts ON llm_usage(ts);
    CREATE INDEX IF NOT EXISTS idx_events_ts ON events(ts);
    CREATE INDEX IF NOT EXISTS idx_agent_tasks_ts ON agent_tasks(ts);
    CREATE INDEX IF NOT EXISTS idx_controller_metrics_ts ON controller_metrics(ts);
    CREATE INDEX IF NOT EXISTS idx_idempotency_keys_ts ON idempotency_keys(ts);
    ALTER TABLE alert_outbox ADD COLUMN group_id TEXT;
    CREATE TABLE IF NOT EXISTS controller_meta (
        key TEXT PRIMARY KEY,
        value TEXT
    ) WITHOUT ROWID;
    """,
    # 5: incidents and silences of any kind. An incident is keyed by its subject (a bot, a quota
    # pool…) and its kind ("down", "quota"…); a fleet outage, stale or down, is one "down"
    # incident whose state says which. A silence may target one kind of a subject's alerts.
    """
    ALTER TABLE incidents RENAME COLUMN channel TO subject;
    ALTER TABLE incidents ADD COLUMN state TEXT;
    ALTER TABLE incidents ADD COLUMN severity TEXT NOT NULL DEFAULT 'critical';
    UPDATE incidents SET state = kind,
        severity = CASE kind WHEN 'stale' THEN 'warning' ELSE 'critical' END,
        kind = 'down';
    DROP INDEX IF EXISTS idx_incidents_open;
    CREATE INDEX IF NOT EXISTS idx_incidents_open ON incidents(subject, kind)
        WHERE resolved_at IS NULL;
    ALTER TABLE silences RENAME COLUMN channel TO subject;
    ALTER TABLE silences ADD COLUMN kind TEXT;
    """,
    # 6: quotas. What each budget (and, later, reported pool) has announced in its current
    # period, so a restart neither repeats an alert nor forgets a crossing.
    """
    CREATE TABLE IF NOT EXISTS quota_state (
        name TEXT PRIMARY KEY,
        period_start REAL NOT NULL,
        level INTEGER NOT NULL DEFAULT 0,
        alerted TEXT NOT NULL DEFAULT '[]'
    );
    CREATE INDEX IF NOT EXISTS idx_llm_usage_model_ts ON llm_usage(model, ts);
    CREATE TABLE IF NOT EXISTS quota_pools (
        name TEXT PRIMARY KEY,
        family TEXT NOT NULL,
        models_json TEXT NOT NULL DEFAULT '[]',
        used REAL NOT NULL,
        credit_limit REAL NOT NULL,
        resets_at REAL,
        window TEXT,
        updated_at TIMESTAMP NOT NULL
    );
    CREATE TABLE IF NOT EXISTS quota_history (
        id INTEGER PRIMARY KEY,
        ts TIMESTAMP NOT NULL,
        name TEXT NOT NULL,
        pct_left REAL NOT NULL
    );
    CREATE INDEX IF NOT EXISTS idx_quota_history_name_ts ON quota_history(name, ts);
    CREATE INDEX IF NOT EXISTS idx_quota_history_ts ON quota_history(ts);
    CREATE TABLE IF NOT EXISTS quota_overrides (
        name TEXT PRIMARY KEY,
        credit_limit REAL,
        thresholds_json TEXT,
        updated_by TEXT NOT NULL,
        updated_at TIMESTAMP NOT NULL
    );
    """,
    # 7: approvals. Every request and its decision (the audit), the prompt posted for it (so a
    # restart can edit it), grants that let an agent through for a while or always, and the rule
    # and toggle changes made at runtime.
    """
    CREATE TABLE IF NOT EXISTS approvals (
        id INTEGER PRIMARY KEY,
        request_key TEXT,
        agent TEXT NOT NULL,
        action_type TEXT NOT NULL,
        summary TEXT NOT NULL,
        preview TEXT NOT NULL DEFAULT '',
        policy TEXT NOT NULL,
        rule TEXT NOT NULL,
        reason TEXT NOT NULL,
        state TEXT NOT NULL,
        via TEXT,
        decided_by TEXT,
        decision_reason TEXT,
        approvals_required INTEGER NOT NULL DEFAULT 1,
        approvers_json TEXT NOT NULL DEFAULT '[]',
        requested_at TIMESTAMP NOT NULL,
        expires_at REAL,
        decided_at TIMESTAMP,
        wait_ms INTEGER,
        message_channel_id INTEGER,
        message_id INTEGER,
        message_closed INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX IF NOT EXISTS idx_approvals_open ON approvals(state)
        WHERE state = 'pending' OR message_closed = 0;
    CREATE INDEX IF NOT EXISTS idx_approvals_requested_at ON approvals(requested_at);
    CREATE TABLE IF NOT EXISTS approval_grants (
        id INTEGER PRIMARY KEY,
        agent TEXT NOT NULL,
        action_type TEXT NOT NULL,
        until REAL,
        created_by TEXT NOT NULL,
        created_at TIMESTAMP NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE IF NOT EXISTS approval_settings (
        name TEXT PRIMARY KEY,
        value_json TEXT NOT NULL,
        updated_by TEXT NOT NULL,
        updated_at TIMESTAMP NOT NULL
    );
    """,
    # 8: the cache index. One row per entry folder under the cache root; ``deleting`` marks a
    # delete in progress, so a crash half-way is finished at the next start.
    """
    CREATE TABLE IF NOT EXISTS cache_entries (
        task_id TEXT PRIMARY KEY,
        agent_type TEXT NOT NULL,
        agent TEXT,
        size_bytes INTEGER NOT NULL,
        file_count INTEGER NOT NULL,
        created_at TIMESTAMP NOT NULL,
        finished_at TIMESTAMP,
        preview TEXT NOT NULL DEFAULT '',
        mtime_ns INTEGER NOT NULL,
        inode INTEGER NOT NULL,
        deleting INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE IF NOT EXISTS cache_state (
        name TEXT PRIMARY KEY,
        value_json TEXT NOT NULL
    );
    """,
    # 9: who owns what across a restart. An agent's name stays its first reporter's process
    # (``owner_pid``); a quota pool records the bot that last reported it.
    """
    ALTER TABLE agents ADD COLUMN owner_pid INTEGER;
    ALTER TABLE quota_pools ADD COLUMN reported_by TEXT;
    """,
    # 10: the web dashboard's one-time login links and sessions, by the SHA-256 of their token
    # (never the token itself).
    """
    CREATE TABLE IF NOT EXISTS web_links (
        id INTEGER PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        person TEXT NOT NULL,
        role TEXT NOT NULL,
        discord_id INTEGER,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        used_at REAL
    );
    CREATE TABLE IF NOT EXISTS web_sessions (
        id INTEGER PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        person TEXT NOT NULL,
        role TEXT NOT NULL,
        discord_id INTEGER,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        revoked_at REAL,
        last_seen_at REAL
    );
    """,
    # 11: an edge's events for its hub, kept until JetStream has stored them (a partition or a
    # restart of the edge loses none); ``msg_id`` is the event's Nats-Msg-Id.
    """
    CREATE TABLE IF NOT EXISTS edge_outbox (
        seq INTEGER PRIMARY KEY,
        msg_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        payload BLOB NOT NULL
    );
    """,
    # 12: a coding-agent session's facts, shown beside its agent (Claude Code, Codex).
    """
    ALTER TABLE agents ADD COLUMN session_id TEXT;
    ALTER TABLE agents ADD COLUMN cwd TEXT;
    ALTER TABLE agents ADD COLUMN model TEXT;
    ALTER TABLE agents ADD COLUMN cost_usd REAL;
    ALTER TABLE agents ADD COLUMN context_pct REAL;
    ALTER TABLE agents ADD COLUMN waiting INTEGER;
    """,
    # 13: approvals edited before approving. The action's data as asked and as approved (both
    # with secrets masked), who edited and why, and the diff the prompt showed: the audit keeps
    # what the agent asked and what it was let do.
    """
    ALTER TABLE approvals ADD COLUMN data_json TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE approvals ADD COLUMN diff TEXT NOT NULL DEFAULT '';
    ALTER TABLE approvals ADD COLUMN edited_data_json TEXT;
    ALTER TABLE approvals ADD COLUMN edited_by TEXT;
    ALTER TABLE approvals ADD COLUMN edit_comment TEXT;
    """,
    # 14: the last running totals of each coding-agent session and model (``usage_totals``), so
    # after a restart the same totals are still counted once; ``generation`` counts the times a
    # counter went down (a new session reusing the id), which keeps idempotency keys apart.
    """
    CREATE TABLE IF NOT EXISTS usage_running_totals (
        channel TEXT NOT NULL,
        session TEXT NOT NULL,
        model TEXT NOT NULL,
        cost REAL NOT NULL,
        tokens_in INTEGER NOT NULL,
        tokens_out INTEGER NOT NULL,
        generation INTEGER NOT NULL DEFAULT 0,
        ts TIMESTAMP NOT NULL,
        PRIMARY KEY (channel, session, model)
    );
    CREATE INDEX IF NOT EXISTS idx_running_totals_ts ON usage_running_totals(ts);
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
