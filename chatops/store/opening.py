"""Opening the database: the write connection, its pragmas, schema upgrades, a writability proof.

The write connection is a plain :mod:`sqlite3` connection owned by the group-commit writer's
single thread: a whole transaction (BEGIN, every statement, COMMIT) is one hop to that thread,
so a commit never waits behind a busy event loop between its statements. Reads use a separate
read-only aiosqlite connection (see :class:`~chatops.store.domains.Store`).
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

from chatops.store.migrations import MIGRATIONS, SCHEMA_VERSION

log = logging.getLogger("chatops.store")


class StoreError(Exception):
    """The database cannot be opened, upgraded or written."""


def check_writable(path: Path) -> None:
    """Refuse, in one line, a database this process could open but never commit to."""
    for target in (path, path.with_name(path.name + "-wal"), path.parent):
        if target.exists() and not os.access(target, os.W_OK):
            info = target.stat()
            raise StoreError(
                f"database {path} is not writable: {target} belongs to uid {info.st_uid} "
                f"with mode {info.st_mode & 0o777:04o} (a run as another user?)"
            )


def run_closed(conn: sqlite3.Connection, sql: str) -> None:
    """Execute and exhaust the cursor at once: a PRAGMA's unread result row would otherwise keep
    a statement open and make the next COMMIT fail ("SQL statements in progress")."""
    conn.execute(sql).fetchall()


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema to :data:`SCHEMA_VERSION`; return the version found."""
    row = conn.execute("PRAGMA user_version").fetchone()
    found = int(row[0]) if row else 0
    if found > SCHEMA_VERSION:
        raise StoreError(
            f"database schema version {found} is newer than this chatops ({SCHEMA_VERSION}); "
            "upgrade chatops"
        )
    for version in range(found + 1, SCHEMA_VERSION + 1):
        script = MIGRATIONS[version - 1]
        # executescript commits first; the version bump rides in the same script so a crash
        # half-way leaves the previous version recorded and the script is re-run whole.
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;")
        log.info("database upgraded to schema version %d", version)
    return found


def open_write_connection(path: Path, synchronous: str) -> sqlite3.Connection:
    """The prepared write connection, or :class:`StoreError` with a one-line reason."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    check_writable(path)
    old_umask = os.umask(0o077)
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open database {path}: {exc}") from exc
    finally:
        os.umask(old_umask)
    try:
        for pragma in (
            "journal_mode=WAL",
            f"synchronous={synchronous.upper()}",
            "busy_timeout=5000",
        ):
            run_closed(conn, f"PRAGMA {pragma}")
        migrate(conn)
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(f"cannot prepare database {path}: {exc}") from exc
    except StoreError:
        conn.close()
        raise
    try:
        # Prove the file can be written now, not at the first heartbeat: a database left by
        # another user's run opens fine and then refuses every commit.
        conn.execute(
            "INSERT OR REPLACE INTO controller_meta (key, value) VALUES ('last_start', ?)",
            (str(os.getpid()),),
        )
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(f"database {path} is not writable: {exc}") from exc
    return conn
