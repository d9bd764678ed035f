"""Who is looking at the web dashboard: one-time login links and the sessions they open.

Neither is ever kept in clear: the store holds a SHA-256 of each token, the browser the token
itself (the link once, then an HttpOnly cookie)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """The same roles as in Discord: viewers read, approvers decide approval requests, admins
    change things (silences, restarts, cleans)."""

    VIEWER = "viewer"
    APPROVER = "approver"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        """An admin may what an approver may, who may what a viewer may."""
        return self.rank >= needed.rank


@dataclass(slots=True)
class LoginLink:
    """A one-time link: opens one session, once, before it expires."""

    id: int
    token_hash: str
    person: str
    """Who it is for, as the session list shows it (``alice``, ``cli (uid 1000)``)."""
    role: Role
    created_at: float
    expires_at: float
    discord_id: int | None = None
    used_at: float | None = None


@dataclass(slots=True)
class WebSession:
    id: int
    token_hash: str
    person: str
    role: Role
    created_at: float
    expires_at: float
    discord_id: int | None = None
    revoked_at: float | None = None
    last_seen_at: float | None = None

    def live(self, now: float) -> bool:
        return self.revoked_at is None and now < self.expires_at
