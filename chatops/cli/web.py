"""``chatops web login [--role viewer|approver|admin]`` and ``chatops web sessions [--json]`` ·
``chatops web sessions revoke ID``: what ``/web login`` and ``/web sessions`` do, from a shell.

Links and sessions live in the running controller, so every command goes through it; none
answers: one line and exit 3. All three go through the operator's narrow door (the
controller's own uid, never a connection that spoke as an agent); a link for an approver or an
admin also follows ``approvals.socket_decisions``, as deciding a request does (it decides them
in the browser). The link is for ``cli (uid …)`` and is printed on stdout alone, its URL on the
first line (``chatops web login | head -1``). While the controller serves no dashboard
(``http.listen`` empty) it says so: exit 1, one line, no link. Revoking sits under ``sessions``,
as ``quota set`` sits under ``quota``: the list shows the numbers it takes."""

from __future__ import annotations

import argparse
import json
from typing import Any

from chatops.cli.asking import ask
from chatops.config import Settings
from chatops.presentation.markup import TERMINAL
from chatops.presentation.web_access import (
    NO_SESSIONS,
    link_text,
    local_time,
    revoked_text,
    session_text,
)
from chatops.records.web import Role, WebSession
from chatops.wire.protocol import ListWebSessions, RevokeWebSession, WebLogin


def web_command(settings: Settings, args: argparse.Namespace) -> int:
    socket_path = settings.monitoring.socket_path
    if args.web_command == "login":
        reply = ask(socket_path, WebLogin(role=args.role))
        seconds = reply["link_minutes"] * 60
        until = local_time(reply["expires_at"])
        print(reply["url"])
        print(link_text(reply["person"], reply["role"], seconds, until, TERMINAL))
        return 0
    if args.sessions_command == "revoke":
        reply = ask(socket_path, RevokeWebSession(session=args.session_id))
        print(revoked_text(session_of(reply["session"]), TERMINAL))
        return 0
    items = list(ask(socket_path, ListWebSessions()).get("sessions", []))
    if args.json:
        print(json.dumps(items, indent=2))
    else:
        lines = [session_text(session_of(item), TERMINAL, local_time) for item in items]
        print("\n".join(lines) or NO_SESSIONS)
    return 0


def session_of(item: dict[str, Any]) -> WebSession:
    """A session as the socket answers it (``session_to_dict``); its token's hash never leaves
    the controller."""
    return WebSession(
        id=item["id"],
        token_hash="",
        person=item["person"],
        role=Role(item["role"]),
        created_at=item["created_at"],
        expires_at=item["expires_at"],
        discord_id=item["discord_id"],
        last_seen_at=item["last_seen_at"],
    )
