"""What signing in to the web dashboard reads as, in Discord and in a terminal alike
(``/web login`` and ``chatops web login``, ``/web sessions`` and ``chatops web sessions``).
Names are marked up by the medium's :class:`~chatops.presentation.markup.Markup`; ``when``
writes a time the medium's way (Discord's timestamps, shown in each reader's zone; a terminal's
local time)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from chatops.presentation.formatting import describe_duration
from chatops.presentation.markup import Markup
from chatops.records.web import WebSession

NO_SESSIONS = "No live web sessions."


def link_text(person: str, role: str, seconds: float, until: str, markup: Markup) -> str:
    """The sentence under a login link: for whom, as what, how long it waits, and that it is
    theirs alone (whoever opens it first signs in)."""
    return (
        f"One-time link for {markup.text(person)} as {markup.bold(role)}: open it within "
        f"{describe_duration(seconds)} (until {until}) and press Sign in. It works once; "
        "whoever opens it signs in as you, so keep it to yourself."
    )


def session_text(session: WebSession, markup: Markup, when: Callable[[float], str]) -> str:
    """``#3 alice · admin · signed in … · until … · last seen …``."""
    seen = when(session.last_seen_at) if session.last_seen_at is not None else "not yet"
    return (
        f"#{session.id} {markup.bold(markup.text(session.person))} · {session.role} · "
        f"signed in {when(session.created_at)} · until {when(session.expires_at)} · "
        f"last seen {seen}"
    )


def revoked_text(session: WebSession, markup: Markup) -> str:
    """``Web session #3 (alice, admin) revoked: …``."""
    return (
        f"Web session #{session.id} ({markup.text(session.person)}, {session.role}) revoked: "
        "its next request is refused."
    )


def local_time(ts: float) -> str:
    """A time as a terminal shows it: ``2026-12-02 14:07 CET``, in local time."""
    return f"{datetime.fromtimestamp(ts, UTC).astimezone():%Y-%m-%d %H:%M %Z}"
