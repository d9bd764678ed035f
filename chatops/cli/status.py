"""``chatops status``'s coding-agent sessions: the SESSIONS table under the bots, from the same
``get_status`` answer (or the same database rows) as the bots table, in the words
:mod:`chatops.presentation.sessions` gives every view."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chatops.presentation.formatting import terminal_text
from chatops.presentation.sessions import SessionView, session_views_of_dicts

SESSION_HEADERS = ["NAME", "KIND", "STATUS", "MODEL", "LAST TOOL", "COST", "CTX %", "CWD"]


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns as wide as their widest cell, two spaces apart, no trailing blanks."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def sessions_of(
    bots: Sequence[Mapping[str, Any]],
    agents: Sequence[Mapping[str, Any]],
    *,
    home: str | None = None,
) -> list[SessionView]:
    """The sessions among ``agents`` whose bot is among ``bots`` (so ``--host`` keeps the
    sessions of that host only), each with its bot's status."""
    status = {str(bot["channel"]): str(bot["status"]) for bot in bots}
    return session_views_of_dicts(agents, status, home=home)


def format_sessions_table(sessions: Sequence[SessionView]) -> str:
    """One row a session; every cell passes :func:`terminal_text` (what a session's hooks sent
    never reaches the terminal raw, even from a database an older version wrote)."""
    rows = [
        [
            terminal_text(cell)
            for cell in (
                view.name,
                view.kind,
                view.status,
                view.model,
                view.last_tool,
                view.cost,
                view.context,
                view.cwd,
            )
        ]
        for view in sessions
    ]
    return text_table(SESSION_HEADERS, rows)
