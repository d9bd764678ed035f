"""What a silence reads as, in Discord and in a terminal alike (``/silence`` and
``chatops silence``, ``/silences`` and ``chatops silences``): ``#3 kissbot (down alerts only)
until … by alice — upgrade``. Names and reasons are marked up by the medium's
:class:`~chatops.presentation.markup.Markup`; ``when`` writes a time the medium's way (Discord's
timestamps, shown in each reader's zone; a terminal's local time)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from chatops.presentation.formatting import describe_duration
from chatops.presentation.markup import Markup
from chatops.records.alerts import Silence

NO_SILENCES = "No active silences."


def silence_text(silence: Silence, markup: Markup, when: Callable[[float], str]) -> str:
    """``#3 kissbot (down alerts only) until <when> by alice — upgrade``."""
    if silence.subject is None:
        target = f"{markup.bold('everything')} (maintenance)"
    else:
        target = markup.bold(markup.text(silence.subject))
        if silence.kind is not None:
            target += f" ({markup.text(silence.kind)} alerts only)"
    by = f" by {markup.text(silence.created_by)}" if silence.created_by else ""
    why = f" — {markup.text(silence.reason)}" if silence.reason else ""
    return f"#{silence.id} {target} until {when(silence.until)}{by}{why}"


def silenced_text(silence: Silence, markup: Markup, when: Callable[[float], str]) -> str:
    """``Silenced #3 … — for 2h 0m.``: a silence just made, and how long it lasts."""
    length = describe_duration(round(silence.until - silence.created_at))
    return f"Silenced {silence_text(silence, markup, when)} — for {length}."


def ended_text(silence_id: int) -> str:
    """``Silence #4 ended.``"""
    return f"Silence #{silence_id} ended."


def terminal_time(now: float) -> Callable[[float], str]:
    """A time as a terminal shows it: ``2026-11-23 14:02 CET (in 2h 0m)``, in local time."""

    def when(ts: float) -> str:
        local = datetime.fromtimestamp(ts, UTC).astimezone()
        return f"{local:%Y-%m-%d %H:%M %Z} (in {describe_duration(ts - now)})"

    return when
