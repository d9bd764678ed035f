"""Requests from the coding agents people already run (Claude Code, Codex), sent for them by
``chatops hook``, ``chatops statusline`` and ``chatops watch``: no agent code.

A coding-agent *session* is a fleet member named ``agent``, run by the process ``pid`` (the
session itself: Claude Code or Codex). The hook that speaks for it is that process's
descendant, so the kernel vouches for the claim on every message (see
:mod:`chatops.services.ownership`). Its liveness is the process's: it sends no heartbeat, and
only its exit without a ``end`` event is a down alert.

An operator answers a session in words (``agent_reply``, from ``chatops agents reply``); the
session's ``Stop`` hook waits for them (``await_reply``) and hands them to the agent. See
:mod:`chatops.services.replies` for who may do either.

Usage from an agent's own counters comes as running totals (``usage_totals``): the controller
stores the increase over the last totals it saw for the session, so the same totals sent twice
are counted once, and a report that was lost is made up by the next one.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from chatops.records.replies import DEFAULT_MAX_REPLIES, MAX_REPLY_CHARS, MAX_REPLY_WAIT
from chatops.wire.fields import (
    Cost,
    EpochSeconds,
    IdemKey,
    Name,
    Pid,
    RequestBase,
    Text,
)

SessionEvent = Literal["start", "activity", "waiting", "finished", "failed", "end"]
"""What happened in a session: it started; it did something (a tool call); it waits for its
operator (input or a permission); it finished its turn; its turn failed (a rate limit, an API
error); it ended cleanly (the only way it leaves the fleet without a down alert)."""

AgentKind = Literal["claude-code", "codex"]
Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]
Tokens64 = Annotated[int, msgspec.Meta(ge=0, le=10**15)]
"""A session's running token totals grow past one call's bound; still exact in SQLite."""


class AgentSession(RequestBase, tag="agent_session"):
    """One event of a coding-agent session (see the module docstring)."""

    agent: Name
    pid: Pid
    event: SessionEvent
    kind: AgentKind
    session_id: IdemKey | None = None
    cwd: Text | None = None
    model: Name | None = None
    tool: Name | None = None
    """The tool it just used or asks for (the "last tool" of status views)."""
    cost_usd: Cost | None = None
    context_pct: Percent | None = None
    message: Text | None = None
    """What it says: a notification's text, the first lines of its last answer, a failure's
    error. Secrets are masked by the controller before anything shows it."""
    reason: Text | None = None
    """Why it ended or failed (``SessionEnd``'s reason, ``StopFailure``'s error type)."""


class UsageTotals(RequestBase, tag="usage_totals"):
    """A session's running usage totals, as the agent counts them (the whole session's, whatever
    the model): the controller stores the increase over the last totals of the same
    ``session``, as usage of ``model``, the one it uses now."""

    channel: Name
    session: IdemKey
    model: Name
    cost_usd: Annotated[float, msgspec.Meta(ge=0, le=1e9)] = 0.0
    tokens_in: Tokens64 = 0
    tokens_out: Tokens64 = 0
    ts: EpochSeconds | None = None


ReplyText = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_REPLY_CHARS)]


class AwaitReply(RequestBase, tag="await_reply"):
    """The session's own hook waits up to ``timeout`` seconds for its operator's reply;
    answered ``{"reply": "<the words>"}`` or ``{"reply": null}``. ``continued``: this stop
    follows one a reply already continued (Claude Code's ``stop_hook_active``); after
    ``max_replies`` replies in a row the answer is ``null`` at once."""

    agent: Name
    pid: Pid
    timeout: Annotated[float, msgspec.Meta(gt=0, le=MAX_REPLY_WAIT)]
    session_id: IdemKey | None = None
    continued: bool = False
    max_replies: Annotated[int, msgspec.Meta(ge=0, le=100)] = DEFAULT_MAX_REPLIES


class AgentReply(RequestBase, tag="agent_reply"):
    """An operator's words for the session ``agent`` (``chatops agents reply``), through the
    operator's door as ``decide_approval`` is; answered ``{"agent": …, "delivered": bool}``
    (false: kept for the session's next wait)."""

    agent: Name
    text: ReplyText
