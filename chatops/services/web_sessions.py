"""Who may use the web dashboard, and as what: one-time login links, sessions, roles.

A link is made for one person with one role (by ``/web login`` in Discord, from the person's
Discord roles, or by ``chatops web login`` for the operator at the shell). Opened once before it
expires (``web.link_minutes``), it becomes a session: a random token in an HttpOnly cookie,
valid ``web.session_hours``, listed and revoked from Discord or the shell. Only SHA-256 hashes
of tokens are stored (a stolen database opens nothing). Opening links is rate-limited per
client address: a guess costs a minute after ``web.login_attempts`` wrong ones.

What a session may do is :meth:`WebSessions.require`'s to say, for every door that acts for a
web user: the same rule as a click in Discord (viewers read, approvers decide approval requests,
admins change things).

Both doors that hand out links (``/web login`` and ``chatops web login``) call
:meth:`WebSessions.login_link`, which makes the link a URL in one place (:func:`dashboard_url`)
and refuses, saying why, while no dashboard is served: a link to nothing is worse than none.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import socket
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chatops.config.http import WebConfig, split_listen
from chatops.presentation.formatting import host_port
from chatops.records.web import LoginLink, Role, WebSession
from chatops.services.errors import Conflict, NotFound, Refused
from chatops.store import Store
from chatops.timeutil import Clock, wall_clock

ATTEMPT_WINDOW = 60.0


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LoginRefused(Refused):
    """A link that is unknown, used or expired, or too many tries from one address."""


DASHBOARD_OFF = (
    "the web dashboard is off: http.listen is empty in the controller's config "
    "(set it, e.g. 127.0.0.1:9464, and restart the controller)"
)


class DashboardOff(Conflict):
    """No login link while no dashboard is served: it would lead nowhere."""


@dataclass(frozen=True, slots=True)
class IssuedLink:
    """A one-time login link as a door hands it out. ``url`` holds the token: it goes to the
    person alone (an ephemeral answer, stdout), never to a log."""

    url: str
    person: str
    role: Role
    expires_at: float


def dashboard_url(
    public_url: str | None,
    listen: str,
    bound: Sequence[tuple[str, int]] = (),
    *,
    hostname: Callable[[], str] = socket.gethostname,
) -> str:
    """Where browsers reach the dashboard: ``web.public_url`` when set (a proxy in front), else
    ``http://`` + ``http.listen``, with the port actually bound when it was 0, this machine's
    hostname for a wildcard host (0.0.0.0 and :: are not addresses a browser can open), and an
    IPv6 host in brackets."""
    if public_url:
        return public_url.rstrip("/")
    host, port = split_listen(listen)
    if port == 0 and bound:
        port = bound[0][1]
    if _unspecified(host):
        host = hostname()
    return f"http://{host_port(host, port)}"


def _unspecified(host: str) -> bool:
    """0.0.0.0 or :: (every address of this machine), not a name."""
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Opened:
    """A link redeemed: the session, and its token (for the cookie; never stored)."""

    session: WebSession
    token: str


class WebSessions:
    def __init__(self, store: Store, config: WebConfig, *, clock: Clock = wall_clock) -> None:
        self._tables = store.web
        self.config = config
        self._clock = clock
        self._links: dict[str, LoginLink] = {}
        self._sessions: dict[str, WebSession] = {}
        self._next_link = 1
        self._next_session = 1
        self._attempts: dict[str, deque[float]] = {}
        self.base_url: str | None = None
        """Where the dashboard is served (:meth:`listening`); None: it is off."""

    async def start(self) -> None:
        now = self._clock()
        self._tables.forget_before(now - 30 * 86400)
        links = await self._tables.links(now)
        sessions = await self._tables.sessions(now)
        self._links = {link.token_hash: link for link in links.rows}
        self._sessions = {session.token_hash: session for session in sessions.rows}
        self._next_link, self._next_session = links.next_id, sessions.next_id

    # -- links -----------------------------------------------------------------------------------

    def issue_link(self, person: str, role: Role, *, discord_id: int | None = None) -> str:
        """A one-time token for ``person`` as ``role``; the door makes it a URL."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        link = LoginLink(
            id=self._next_link,
            token_hash=token_hash(token),
            person=person,
            role=role,
            created_at=now,
            expires_at=now + self.config.link_minutes * 60,
            discord_id=discord_id,
        )
        self._next_link += 1
        self._links[link.token_hash] = link
        self._tables.save_link(link)
        return token

    def listening(self, listen: str, bound: Sequence[tuple[str, int]]) -> None:
        """The HTTP door serves the dashboard on ``listen`` (bound at ``bound``): links may be
        handed out from now on. Told by the composition once the listener is up."""
        self.base_url = dashboard_url(self.config.public_url, listen, bound)

    def login_link(self, person: str, role: Role, *, discord_id: int | None = None) -> IssuedLink:
        """A one-time link as a URL, for ``/web login`` and ``chatops web login`` alike;
        :class:`DashboardOff` while no dashboard is served (nothing is issued then)."""
        if self.base_url is None:
            raise DashboardOff(DASHBOARD_OFF)
        token = self.issue_link(person, role, discord_id=discord_id)
        link = self._links[token_hash(token)]
        return IssuedLink(f"{self.base_url}/login/{token}", person, role, link.expires_at)

    def redeem(self, token: str, client: str) -> Opened:
        """Open a session with a link's token, once. ``client``: the address it came from, for
        the rate limit. Refused alike whether unknown, used or expired: a guess learns nothing."""
        now = self._clock()
        tries = self._attempts.setdefault(client, deque())
        while tries and tries[0] <= now - ATTEMPT_WINDOW:
            tries.popleft()
        if len(tries) >= self.config.login_attempts:
            raise LoginRefused("too many login attempts from this address; wait a minute")
        link = self._links.get(token_hash(token))
        if link is None or link.used_at is not None or now >= link.expires_at:
            tries.append(now)
            raise LoginRefused("this login link is not valid: unknown, used or expired")
        link.used_at = now
        del self._links[link.token_hash]
        self._tables.save_link(link)
        session_token = secrets.token_urlsafe(32)
        session = WebSession(
            id=self._next_session,
            token_hash=token_hash(session_token),
            person=link.person,
            role=link.role,
            created_at=now,
            expires_at=now + self.config.session_hours * 3600,
            discord_id=link.discord_id,
        )
        self._next_session += 1
        self._sessions[session.token_hash] = session
        self._tables.save_session(session)
        return Opened(session, session_token)

    # -- sessions --------------------------------------------------------------------------------

    def authenticate(self, token: str | None) -> WebSession | None:
        """The live session a cookie's token opens, or None."""
        if not token:
            return None
        session = self._sessions.get(token_hash(token))
        now = self._clock()
        if session is None or not session.live(now):
            return None
        session.last_seen_at = now
        return session

    def csrf_token(self, token: str) -> str:
        """The token every state-changing request of the session carries: derived from the
        session's own (which a page of another site cannot read), so nothing more is kept."""
        return hmac.new(token.encode(), b"chatops-csrf", hashlib.sha256).hexdigest()

    def check_csrf(self, token: str, sent: str | None) -> None:
        if not sent or not hmac.compare_digest(self.csrf_token(token), sent):
            raise Refused("missing or wrong CSRF token; reload the page")

    @staticmethod
    def require(session: WebSession, needed: Role) -> None:
        """Refuse unless ``session``'s role allows what needs ``needed``."""
        if not session.role.allows(needed):
            raise Refused(f"{needed} only: you are signed in as {session.role}")

    def sessions(self) -> list[WebSession]:
        now = self._clock()
        return sorted(
            (session for session in self._sessions.values() if session.live(now)),
            key=lambda session: session.id,
        )

    def revoke(self, session_id: int) -> WebSession:
        for session in self._sessions.values():
            if session.id == session_id and session.live(self._clock()):
                session.revoked_at = self._clock()
                self._tables.save_session(session)
                return session
        raise NotFound(f"no live web session #{session_id}")

    def save_seen(self) -> None:
        """Keep when each session was last seen (a scheduled job: not on every request)."""
        for session in self._sessions.values():
            if session.last_seen_at is not None:
                self._tables.save_session(session)
