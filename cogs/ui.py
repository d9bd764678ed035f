"""Shared Discord rendering and widgets: fleet pages, pagination, admin checks, autocomplete,
and the persistent Silence button. Cogs import from here instead of repeating any of it."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands

from chatops.models import BotState, BotStatus
from chatops.presentation.formatting import describe_duration, discord_text

if TYPE_CHECKING:
    from chatops.discord.bot import ChatOpsBot

T = TypeVar("T")

STATUS_EMOJI = {
    BotStatus.ONLINE: "🟢",
    BotStatus.LATE: "🟡",
    BotStatus.STALE: "🟠",
    BotStatus.DOWN: "🔴",
    BotStatus.OFFLINE: "⚫",
}
STATUS_COLOUR = {
    BotStatus.ONLINE: 0x2ECC71,
    BotStatus.LATE: 0xF1C40F,
    BotStatus.STALE: 0xE67E22,
    BotStatus.DOWN: 0xE74C3C,
    BotStatus.OFFLINE: 0x95A5A6,
}

# Worst first, for sorting and for the colour of a page.
SEVERITY = {
    BotStatus.DOWN: 0,
    BotStatus.STALE: 1,
    BotStatus.LATE: 2,
    BotStatus.OFFLINE: 3,
    BotStatus.ONLINE: 4,
}

# Discord's limits for one embed (https://discord.com/developers/docs/resources/message).
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_TOTAL_LIMIT = 6000
EMBED_FIELDS_LIMIT = 25


def chatops_bot(interaction: discord.Interaction) -> ChatOpsBot:
    return interaction.client  # type: ignore[return-value]


def admin_only() -> Callable[[T], T]:
    """App-command check: state-changing commands need a configured admin role or user."""

    async def predicate(interaction: discord.Interaction) -> bool:
        chatops_bot(interaction).require_admin(interaction)
        return True

    return app_commands.check(predicate)


async def bot_name_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    names = sorted(chatops_bot(interaction).controller.services.fleet.bots)
    current = current.lower()
    return [app_commands.Choice(name=n, value=n) for n in names if current in n.lower()][:25]


def bot_line(bot: BotState, now: float) -> str:
    parts = [f"{STATUS_EMOJI.get(bot.status, '❔')} **{discord_text(bot.channel)}**"]
    if bot.status in (BotStatus.ONLINE, BotStatus.LATE, BotStatus.STALE):
        parts.append(f"up {describe_duration(now - bot.registered_at)}")
    else:
        parts.append(f"{bot.status} {describe_duration(now - bot.status_changed_at)}")
    if bot.rss_mb is not None:
        parts.append(f"{bot.rss_mb:.0f} MB")
    if bot.cpu_pct is not None:
        parts.append(f"{bot.cpu_pct:.1f}% CPU")
    parts.append(f"<t:{int(bot.last_heartbeat)}:R>")
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
    for bot in sorted(bots, key=lambda b: (SEVERITY[b.status], b.channel)):
        line = bot_line(bot, now)[:budget]
        if used + len(line) + 1 > budget and pages[-1]:
            pages.append([])
            used = 0
        pages[-1].append(line)
        used += len(line) + 1
    embeds = []
    worst = min((b.status for b in bots), key=SEVERITY.__getitem__, default=BotStatus.ONLINE)
    for number, lines in enumerate(pages, start=1):
        embed = discord.Embed(
            title=title, colour=STATUS_COLOUR[worst], description=header + "\n\n" + "\n".join(lines)
        )
        footer = f"Page {number}/{len(pages)} · {len(bots)} bot(s)"
        if degraded is not None:
            footer += f"\n⚠️ controller degraded: {degraded}"[:1024]
        embed.set_footer(text=footer)
        embeds.append(embed)
    return embeds


class Paginator(discord.ui.View):
    """◀ ▶ through pre-rendered embeds; only the person who asked may turn the pages."""

    def __init__(self, pages: Sequence[discord.Embed], owner_id: int, timeout: float = 600):
        super().__init__(timeout=timeout)
        self.pages = list(pages)
        self.owner_id = owner_id
        self.index = 0
        self.message: discord.InteractionMessage | None = None
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.previous.disabled = self.index == 0
        self.next.disabled = self.index >= len(self.pages) - 1

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message(
                "These pages belong to whoever ran the command; run /status yourself.",
                ephemeral=True,
            )
            return False
        return True

    @discord.ui.button(label="◀", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        self.index = max(0, self.index - 1)
        self._update_buttons()
        await interaction.response.edit_message(embed=self.pages[self.index], view=self)

    @discord.ui.button(label="▶", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        self.index = min(len(self.pages) - 1, self.index + 1)
        self._update_buttons()
        await interaction.response.edit_message(embed=self.pages[self.index], view=self)

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        if self.message is not None:
            with contextlib.suppress(discord.HTTPException):
                await self.message.edit(view=self)

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        from chatops.discord.bot import report_error

        await report_error(interaction, error)


async def send_pages(
    interaction: discord.Interaction, pages: Sequence[discord.Embed], *, ephemeral: bool = False
) -> None:
    if len(pages) == 1:
        await interaction.response.send_message(embed=pages[0], ephemeral=ephemeral)
        return
    view = Paginator(pages, interaction.user.id)
    await interaction.response.send_message(embed=pages[0], view=view, ephemeral=ephemeral)
    view.message = await interaction.original_response()


SILENCE_SECONDS = 3600


class SilenceButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"chatops:silence:(?P<channel>[^:]{1,80})",
):
    """On alert messages: silence that bot for an hour. Survives restarts (the state is in the
    custom id), and only admins may press it."""

    def __init__(self, channel: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Silence 1h",
                style=discord.ButtonStyle.secondary,
                emoji="🔕",
                custom_id=f"chatops:silence:{channel}",
            )
        )
        self.channel = channel

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> SilenceButton:
        return cls(match["channel"])

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if not chatops_bot(interaction).is_admin(interaction.user):
            await interaction.response.send_message(
                "Only chatops admins (discord.admin_role_ids / admin_user_ids) can silence.",
                ephemeral=True,
            )
            return False
        return True

    async def callback(self, interaction: discord.Interaction) -> None:
        silences = chatops_bot(interaction).controller.services.silences
        silence = silences.add(
            self.channel,
            SILENCE_SECONDS,
            created_by=str(interaction.user),
            reason="button on alert",
        )
        await interaction.response.send_message(
            f"🔕 **{discord_text(self.channel)}** silenced until <t:{int(silence.until)}:f> "
            f"by {interaction.user.mention}.",
            allowed_mentions=discord.AllowedMentions.none(),
        )


def silence_view(channel: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    if len(channel) <= 80 and ":" not in channel:
        view.add_item(SilenceButton(channel))
    return view
