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


def fleet_pages(
    bots: Sequence[BotState], *, title: str, now: float | None = None, degraded: str | None = None
) -> list[discord.Embed]:
    """Pack one line per bot into as few embeds as Discord's limits allow."""
    now = time.time() if now is None else now
    header = status_counts(bots) or "No bots match."
    budget = EMBED_DESCRIPTION_LIMIT - len(header) - 2
    pages: list[list[str]] = [[]]
    used = 0
    shown = short_names(bot.channel for bot in bots)
    several_hosts = len({bot.host for bot in bots}) > 1
    for bot in sorted(bots, key=lambda b: (STATUS_ORDER[b.status], b.channel)):
        line = bot_line(bot, now, name=shown[bot.channel], host=several_hosts)[:budget]
        if used + len(line) + 1 > budget and pages[-1]:
            pages.append([])
            used = 0
        pages[-1].append(line)
        used += len(line) + 1
    embeds = []
    worst = min((b.status for b in bots), key=STATUS_ORDER.__getitem__, default=BotStatus.ONLINE)
    for number, lines in enumerate(pages, start=1):
        embed = discord.Embed(
            title=title, colour=STATUS_COLOUR[worst], description=header + "\n\n" + "\n".join(lines)
        )
        footer = f"Page {number}/{len(pages)} · {plural(len(bots), 'bot')}"
        if degraded is not None:
            footer += f"\n⚠️ controller degraded: {degraded}"[:1024]
        embed.set_footer(text=footer)
        embeds.append(embed)
    return embeds
