"""Codex's session logs, read for quotas: pure parsing, no I/O beyond the files it is handed.

Codex writes each session to ``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl``
(``~/.codex`` by default), one ``{"timestamp", "type", "payload"}`` object a line:

- ``session_meta``: ``payload.id`` (the session), ``payload.cwd``;
- ``turn_context``: ``payload.model`` for the turns that follow;
- ``event_msg`` with ``payload.type == "token_count"``: ``payload.info.total_token_usage``
  (``input_tokens``, ``cached_input_tokens``, ``output_tokens``, ``reasoning_output_tokens``,
  ``total_tokens``; ``info`` may be null before the first answer) and ``payload.rate_limits``
  with ``primary`` and ``secondary`` windows (``used_percent``, ``window_minutes``, and
  ``resets_at`` in epoch seconds in newer versions, ``resets_in_seconds`` in older ones).

Each ``token_count`` is a :class:`TokenCount`: the pools ``codex primary`` and ``codex
secondary`` (``used`` = the window's %, limit 100, the window labelled from its minutes:
``5h``, ``7d``) and the session's running totals. ``input_tokens`` already holds the cached
ones and ``output_tokens`` the reasoning ones (OpenAI's usage convention), so tokens in and out
are those two.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

POOL_PREFIX = "codex"
WINDOWS = ("primary", "secondary")
DEFAULT_MODEL = "codex"
"""The model named in totals before any ``turn_context`` said which (an old log)."""


def sessions_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--sessions``, else ``$CODEX_HOME/sessions``, else ``~/.codex/sessions``."""
    if explicit:
        return Path(explicit).expanduser()
    home = os.environ.get("CODEX_HOME")
    return (Path(home).expanduser() if home else Path.home() / ".codex") / "sessions"


def window_label(minutes: Any) -> str | None:
    """``300`` → ``5h``, ``10080`` → ``7d``, ``90`` → ``90m``; None when not a positive number."""
    if isinstance(minutes, bool) or not isinstance(minutes, int | float) or minutes <= 0:
        return None
    whole = int(minutes)
    if whole != minutes:
        return f"{minutes:g}m"
    if whole % 1440 == 0:
        return f"{whole // 1440}d"
    if whole % 60 == 0:
        return f"{whole // 60}h"
    return f"{whole}m"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value == value and abs(value) != float("inf") else None


def _instant(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return None if when.tzinfo is None else when.timestamp()


def rate_limit_pools(rate_limits: Any, written_at: float) -> list[dict[str, Any]]:
    """``model_usage`` pools from a ``token_count``'s ``rate_limits``; ``written_at`` (the
    line's time) turns an older version's ``resets_in_seconds`` into a time."""
    if not isinstance(rate_limits, dict):
        return []
    pools = []
    for window in WINDOWS:
        snapshot = rate_limits.get(window)
        if not isinstance(snapshot, dict):
            continue
        used = _number(snapshot.get("used_percent"))
        if used is None:
            continue
        pool: dict[str, Any] = {
            "name": f"{POOL_PREFIX} {window}",
            "used": min(100.0, max(0.0, used)),
            "limit": 100,
        }
        label = window_label(snapshot.get("window_minutes"))
        if label is not None:
            pool["window"] = label
        resets_at = _number(snapshot.get("resets_at"))
        if resets_at is None:
            after = _number(snapshot.get("resets_in_seconds"))
            resets_at = None if after is None else written_at + after
        if resets_at is not None and 1e9 <= resets_at < 1e10:
            pool["resets_at"] = resets_at
        pools.append(pool)
    return pools


@dataclass(frozen=True, slots=True)
class TokenCount:
    """One ``token_count`` event: what to report for it."""

    session: str | None
    model: str
    pools: list[dict[str, Any]]
    tokens_in: int | None
    """None when the event carried no usage yet (``info: null``)."""
    tokens_out: int | None
    written_at: float


@dataclass(slots=True)
class RolloutState:
    """What one rollout file has said so far: its session, and the model of its turns."""

    session: str | None = None
    cwd: str | None = None
    model: str | None = None

    def feed(self, line: str | bytes, now: float) -> TokenCount | None:
        """Take one line; a ``token_count`` event comes back, anything else updates the
        state (or is ignored: a line Codex may add tomorrow, or a torn one, is no error)."""
        try:
            entry = json.loads(line)
        except ValueError:
            return None
        if not isinstance(entry, dict):
            return None
        payload = entry.get("payload")
        if not isinstance(payload, dict):
            return None
        kind = entry.get("type")
        if kind == "session_meta":
            if isinstance(payload.get("id"), str):
                self.session = payload["id"]
            if isinstance(payload.get("cwd"), str):
                self.cwd = payload["cwd"]
        elif kind == "turn_context":
            if isinstance(payload.get("model"), str) and payload["model"]:
                self.model = payload["model"]
        elif kind == "event_msg" and payload.get("type") == "token_count":
            return self._token_count(payload, _instant(entry.get("timestamp")) or now)
        return None

    def _token_count(self, payload: dict[str, Any], written_at: float) -> TokenCount:
        usage = payload.get("info")
        total = usage.get("total_token_usage") if isinstance(usage, dict) else None
        tokens_in = tokens_out = None
        if isinstance(total, dict):
            found_in = _number(total.get("input_tokens"))
            found_out = _number(total.get("output_tokens"))
            tokens_in = None if found_in is None else max(0, int(found_in))
            tokens_out = None if found_out is None else max(0, int(found_out))
        return TokenCount(
            session=self.session,
            model=self.model or DEFAULT_MODEL,
            pools=rate_limit_pools(payload.get("rate_limits"), written_at),
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            written_at=written_at,
        )
