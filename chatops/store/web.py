"""The web dashboard's login links and sessions: their SQL and row mapping."""

from __future__ import annotations

import sqlite3

from chatops.records.web import LoginLink, Role, WebSession
from chatops.store.database import Database, Restored

_UPSERT_LINK = """
INSERT INTO web_links (id, token_hash, person, role, discord_id, created_at, expires_at, used_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(id) DO UPDATE SET used_at = excluded.used_at
"""
_UPSERT_SESSION = """
INSERT INTO web_sessions (id, token_hash, person, role, discord_id, created_at, expires_at,
                          revoked_at, last_seen_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(id) DO UPDATE SET revoked_at = excluded.revoked_at,
    last_seen_at = excluded.last_seen_at
"""


class WebTables:
    def __init__(self, db: Database) -> None:
        self._db = db

    def save_link(self, link: LoginLink) -> None:
        self._db.writer.put(
            _UPSERT_LINK,
            ("link", link.id),
            lambda: (
                link.id,
                link.token_hash,
                link.person,
                str(link.role),
                link.discord_id,
                link.created_at,
                link.expires_at,
                link.used_at,
            ),
        )

    def save_session(self, session: WebSession) -> None:
        self._db.writer.put(
            _UPSERT_SESSION,
            ("session", session.id),
            lambda: (
                session.id,
                session.token_hash,
                session.person,
                str(session.role),
                session.discord_id,
                session.created_at,
                session.expires_at,
                session.revoked_at,
                session.last_seen_at,
            ),
        )

    def forget_before(self, cutoff: float) -> None:
        """Links and sessions that ended before ``cutoff``: nothing left to show of them."""
        self._db.writer.add("DELETE FROM web_links WHERE expires_at < ?", (cutoff,))
        self._db.writer.add("DELETE FROM web_sessions WHERE expires_at < ?", (cutoff,))

    async def links(self, now: float) -> Restored[LoginLink]:
        return await self._db.restore(
            "web_links",
            "SELECT * FROM web_links WHERE used_at IS NULL AND expires_at > ? ORDER BY id",
            _link,
            (now,),
        )

    async def sessions(self, now: float) -> Restored[WebSession]:
        return await self._db.restore(
            "web_sessions",
            "SELECT * FROM web_sessions WHERE revoked_at IS NULL AND expires_at > ? ORDER BY id",
            _session,
            (now,),
        )


def _link(row: sqlite3.Row) -> LoginLink:
    return LoginLink(
        id=row["id"],
        token_hash=row["token_hash"],
        person=row["person"],
        role=Role(row["role"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        discord_id=row["discord_id"],
        used_at=row["used_at"],
    )


def _session(row: sqlite3.Row) -> WebSession:
    return WebSession(
        id=row["id"],
        token_hash=row["token_hash"],
        person=row["person"],
        role=Role(row["role"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        discord_id=row["discord_id"],
        revoked_at=row["revoked_at"],
        last_seen_at=row["last_seen_at"],
    )
