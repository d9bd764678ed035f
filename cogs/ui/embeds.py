"""Embeds and their parts: the palette, progress bars, Discord timestamps, fleet pages."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import discord

from chatops.presentation.formatting import (
    describe_duration,
    discord_text,
    plural,
    progress_bar,
)
from chatops.presentation.palette import (
    BLUE,
    GREEN,
    GREY,
    ORANGE,
    PURPLE,
    RED,
    SEVERITY_COLOUR,
    SEVERITY_EMOJI,
    STATUS_COLOUR,
    STATUS_EMOJI,
    YELLOW,
)
from chatops.presentation.sessions import SessionView
from chatops.records.fleet import BotState, BotStatus
from chatops.records.hosts import short_names
from chatops.services.approvals.diffs import clip_diff

__all__ = [
    "BLUE",
    "GREEN",
    "GREY",
    "ORANGE",
    "PURPLE",
    "RED",
    "SEVERITY_COLOUR",
    "SEVERITY_EMOJI",
    "STATUS_COLOUR",
    "STATUS_EMOJI",
    "YELLOW",
    "absolute",
    "bot_line",
    "code_block",
    "diff_block",
    "fleet_pages",
    "progress_bar",
    "relative",
    "session_line",
    "status_counts",
]

# Worst first, for sorting and for the colour of a page.
STATUS_ORDER = {
    BotStatus.DOWN: 0,
    BotStatus.UNREACHABLE: 1,
    BotStatus.STALE: 2,
    BotStatus.LATE: 3,
    BotStatus.OFFLINE: 4,
    BotStatus.ONLINE: 5,
}

# Discord's limits for one embed (https://discord.com/developers/docs/resources/message).
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_TOTAL_LIMIT = 6000
EMBED_FIELDS_LIMIT = 25


def relative(ts: float) -> str:
    """'in 5 minutes' / '3 hours ago', in each reader's own locale and time zone."""
    return f"<t:{int(ts)}:R>"


def absolute(ts: float) -> str:
    return f"<t:{int(ts)}:f>"


def code_block(text: str, limit: int = 1000) -> str:
    """``text`` in a code block that it cannot close early (a triple backtick inside is
    broken by a zero-width space), within ``limit`` characters in all."""
    body = text.replace("```", "`\u200b``")
    room = limit - 8
    if len(body) > room:
        body = body[: room - 1] + "…"
    return f"```\n{body}\n```"


def diff_block(diff: str, limit: int = 1024) -> str:
    """A unified diff in a ```diff block within ``limit`` characters in all: its first lines,
    then ``… N more lines`` (the whole diff is in the CLI and on the dashboard)."""
    body = diff.replace("```", "`\u200b``")
    fence = "```diff\n", "```"
    return fence[0] + clip_diff(body, limit - len(fence[0]) - len(fence[1])) + fence[1]


def bot_line(bot: BotState, now: float, *, name: str | None = None, host: bool = False) -> str:
    """One bot: ``name`` as shown (``host/name`` only where needed), ``host``: say which host
    it runs on (a fleet of several)."""
    shown = discord_text(name or bot.channel)
    parts = [f"{STATUS_EMOJI.get(bot.status, '❔')} **{shown}**"]
    if host and bot.host:
        parts[0] += f" on {discord_text(bot.host)}"
    if bot.status in (BotStatus.ONLINE, BotStatus.LATE, BotStatus.STALE):
        parts.append(f"up {describe_duration(now - bot.registered_at)}")
    else:
        parts.append(f"{bot.status} {describe_duration(now - bot.status_changed_at)}")
    if bot.rss_mb is not None:
        parts.append(f"{bot.rss_mb:.0f} MB")
    if bot.cpu_pct is not None:
        parts.append(f"{bot.cpu_pct:.1f}% CPU")
    parts.append(relative(bot.last_heartbeat))
    features = bot.active_features
    if features:
        parts.append(discord_text(", ".join(features))[:120])
    return " · ".join(parts)


def status_counts(bots: Iterable[BotState]) -> str:
    counts: dict[BotStatus, int] = {}
    for bot in bots:
        counts[bot.status] = counts.get(bot.status, 0) + 1
    return "  ".join(f"{STATUS_EMOJI[s]} {s}: **{counts[s]}**" for s in BotStatus if s in counts)


SESSIONS_HEADING = "\n**Coding sessions**"
SESSIONS_CONTINUED = "**Coding sessions** (continued)"
_EMOJI_OF_STATUS = {str(status): emoji for status, emoji in STATUS_EMOJI.items()}
"""A session view carries its bot's status as text."""
CWD_CHARS = 60
"""A session's line shows the end of its cwd (the project), not its start (the home)."""


def session_line(view: SessionView) -> str:
    """One coding-agent session, compactly: ``⏳ **webapp** · waiting · claude-code · opus ·
    Bash · $1.23 · ctx 45% · ~/src/webapp``. ``view`` is text: every part is escaped here."""
    emoji = "⏳" if view.waiting else _EMOJI_OF_STATUS.get(view.status, "❔")
    cwd = view.cwd if len(view.cwd) <= CWD_CHARS else "…" + view.cwd[-(CWD_CHARS - 1) :]
    parts = [f"{emoji} **{discord_text(view.name)}**", discord_text(view.status)]
    parts += [discord_text(text) for text in (view.kind, view.model, view.last_tool)]
    parts += [view.cost, f"ctx {view.context}", discord_text(cwd)]
    return " · ".join(parts)


def fleet_pages(
    bots: Sequence[BotState],
    *,
    title: str,
    now: float | None = None,
    degraded: str | None = None,
    sessions: Sequence[SessionView] = (),
) -> list[discord.Embed]:
    """Pack one line per bot, then a "Coding sessions" section of one line per session (what
    each is doing: a session is a bot too, but its bot line cannot say that), into as few
    embeds as Discord's limits allow. Only descriptions grow: a page stays within the total."""
    now = time.time() if now is None else now
    header = status_counts(bots) or "No bots match."
    budget = EMBED_DESCRIPTION_LIMIT - len(header) - 2
    shown = short_names(bot.channel for bot in bots)
    several_hosts = len({bot.host for bot in bots}) > 1
    lines = [
        bot_line(bot, now, name=shown[bot.channel], host=several_hosts)[:budget]
        for bot in sorted(bots, key=lambda b: (STATUS_ORDER[b.status], b.channel))
    ]
    first_session = len(lines) + 1
    if sessions:
        lines.append(SESSIONS_HEADING)
        lines += [session_line(view)[: budget - len(SESSIONS_CONTINUED) - 1] for view in sessions]
    pages: list[list[str]] = [[]]
    used = 0
    for number, line in enumerate(lines):
        # The heading goes to the next page with its first session, never alone at the bottom.
        needed = len(line) + 1 + (len(lines[number + 1]) + 1 if line is SESSIONS_HEADING else 0)
        if used + needed > budget and pages[-1]:
            pages.append([])
            used = 0
            if number > first_session:
                pages[-1].append(SESSIONS_CONTINUED)
                used = len(SESSIONS_CONTINUED) + 1
        pages[-1].append(line)
        used += len(line) + 1
    embeds = []
    worst = min((b.status for b in bots), key=STATUS_ORDER.__getitem__, default=BotStatus.ONLINE)
    for number, page_lines in enumerate(pages, start=1):
        embed = discord.Embed(
            title=title,
            colour=STATUS_COLOUR[worst],
            description=header + "\n\n" + "\n".join(page_lines),
        )
        footer = f"Page {number}/{len(pages)} · {plural(len(bots), 'bot')}"
        if sessions:
            footer += f" · {plural(len(sessions), 'coding session')}"
        if degraded is not None:
            footer += f"\n⚠️ controller degraded: {degraded}"[:1024]
        embed.set_footer(text=footer)
        embeds.append(embed)
    return embeds
