"""A coding-agent session (Claude Code, Codex) as every status view shows it: ``chatops status``,
``/status`` and the dashboard read the same facts and write them the same way ($0.00, 45%, ~/src).

A :class:`SessionView` holds text, not markup: control characters are already shown as escapes
(a cwd or a model name comes from the session's hooks, whatever the session's directory is
called), and each door still escapes it for its own medium (``discord_text``, Jinja's
autoescaping, ``terminal_text``)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from chatops.presentation.formatting import percent, terminal_text
from chatops.records.fleet import AgentState

WAITING = "waiting"
"""The status shown while a session waits for its operator, whatever its bot's status."""
NONE = "-"


@dataclass(frozen=True, slots=True)
class SessionView:
    """One session's row: what it is, what it is doing, what it costs so far."""

    name: str
    kind: str
    status: str
    model: str
    last_tool: str
    cost: str
    context: str
    cwd: str
    waiting: bool


def cost_text(cost_usd: float | None) -> str:
    """``$1.23``: a session's cost so far, to the cent (``-`` before its status line told)."""
    return NONE if cost_usd is None else f"${cost_usd:,.2f}"


def context_text(context_pct: float | None) -> str:
    """``45%``: how full its context window is (sent as a percentage, 0 to 100)."""
    return NONE if context_pct is None else percent(context_pct / 100)


def short_cwd(cwd: str | None, home: str | None = None) -> str:
    """``~/src/app`` for ``/home/me/src/app``: the home prefix (``home``, by default this
    process's) is noise in a narrow column. Only a whole path component is shortened:
    ``/home/mel`` stays as it is for the home ``/home/me``."""
    if not cwd:
        return NONE
    home = (home if home is not None else os.path.expanduser("~")).rstrip("/")
    if home and (cwd == home or cwd.startswith(home + "/")):
        return "~" + cwd[len(home) :]
    return cwd


def session_status(bot_status: str | None, agent_status: str, waiting: bool) -> str:
    """``waiting`` while it waits for its operator; otherwise its bot's status (online, down),
    which says whether its process lives; the agent's own status without a bot."""
    if waiting:
        return WAITING
    return bot_status or agent_status


def _view(
    name: str,
    kind: str | None,
    status: str,
    tool: str | None,
    facts: Mapping[str, Any],
    home: str | None,
) -> SessionView:
    def shown(text: str | None) -> str:
        return terminal_text(text) if text else NONE

    waiting = bool(facts.get("waiting"))
    return SessionView(
        name=terminal_text(name),
        kind=shown(kind),
        status=terminal_text(status),
        model=shown(facts.get("model")),
        last_tool=shown(tool),
        cost=cost_text(facts.get("cost_usd")),
        context=context_text(facts.get("context_pct")),
        cwd=terminal_text(short_cwd(facts.get("cwd"), home)),
        waiting=waiting,
    )


def _order(views: Iterable[SessionView]) -> list[SessionView]:
    """Those waiting for their operator first: that is what someone should look at."""
    return sorted(views, key=lambda view: (not view.waiting, view.name.lower()))


def session_views(
    agents: Iterable[AgentState], bot_status: Mapping[str, str], *, home: str | None = None
) -> list[SessionView]:
    """The sessions among ``agents`` (the services' records), with their bots' statuses by
    name; an agent whose bot is not in ``bot_status`` is left out (a filter kept its bot out)."""
    return _order(
        _view(
            agent.name,
            agent.agent_type,
            session_status(bot_status[agent.name], agent.status, agent.session.waiting),
            agent.current_task,
            asdict(agent.session),
            home,
        )
        for agent in agents
        if agent.session is not None and agent.name in bot_status
    )


def session_views_of_dicts(
    agents: Iterable[Mapping[str, Any]],
    bot_status: Mapping[str, str],
    *,
    home: str | None = None,
) -> list[SessionView]:
    """The same from ``get_status``'s JSON (``agent_to_dict``), as the CLI reads it."""
    views = []
    for agent in agents:
        facts = agent.get("session")
        name = str(agent.get("name"))
        if not isinstance(facts, Mapping) or name not in bot_status:
            continue
        status = session_status(
            bot_status[name], str(agent.get("status")), bool(facts.get("waiting"))
        )
        views.append(
            _view(name, agent.get("agent_type"), status, agent.get("current_task"), facts, home)
        )
    return _order(views)
