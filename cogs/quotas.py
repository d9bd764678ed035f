"""Quotas and budgets: what is left of each pool and budget, one in detail with a chart, and
changing a budget at runtime.

Discord cannot run a command group by itself, so the summary is ``/quota summary`` beside
``/quota detail`` and ``/quota set``.
"""

from __future__ import annotations

import asyncio
import io
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from chatops.discord.bot import ChatOpsBot
from chatops.presentation.charts import quota_chart
from chatops.presentation.formatting import discord_text, plural, progress_bar
from chatops.services.errors import DomainError
from chatops.services.quotas.service import QuotaView
from cogs.ui.autocomplete import name_choices
from cogs.ui.checks import admin_only, chatops_bot
from cogs.ui.embeds import GREEN, RED, YELLOW, absolute, relative
from cogs.ui.views import send_pages

SPANS = {"90m": 90, "24h": 24 * 60, "7d": 7 * 24 * 60}
_FIELDS_PER_PAGE = 12


def _dot(view: QuotaView) -> str:
    if view.pct_left <= 10:
        return "🔴"
    return "🟡" if view.pct_left <= 30 else "🟢"


def _colour(pct_left: float) -> int:
    """The embed colour that goes with :func:`_dot`."""
    return RED if pct_left <= 10 else YELLOW if pct_left <= 30 else GREEN


def quota_value(view: QuotaView, now: float) -> str:
    if view.loading:
        return "loading: the total is being rebuilt from the usage rows"
    lines = [
        f"{progress_bar(view.pct_left / 100)} left · {view.used:,.6g}/{view.limit:,.6g} {view.unit}"
    ]
    if view.resets_at is not None:
        lines.append(f"resets {absolute(view.resets_at)} ({relative(view.resets_at)})")
    elif view.span:
        lines.append(view.span)
    lines.append(view.runway.describe(now))
    if view.models:
        lines.append(discord_text(", ".join(view.models))[:200])
    if view.stale:
        lines.append("⚠️ stale: not reported recently, this may be out of date")
    return "\n".join(lines)[:1024]


def summary_pages(views: list[QuotaView], now: float) -> list[discord.Embed]:
    """Pools grouped by family, then budgets; a page per dozen, coloured by the worst."""
    if not views:
        return [discord.Embed(title="Quotas", description="No pools reported, no budgets.")]
    ordered = sorted(views, key=lambda v: (v.kind != "pool", v.family or "", v.name))
    pages = []
    for start in range(0, len(ordered), _FIELDS_PER_PAGE):
        chunk = ordered[start : start + _FIELDS_PER_PAGE]
        embed = discord.Embed(title="Quotas", colour=_colour(min(v.pct_left for v in chunk)))
        for view in chunk:
            where = view.family or view.kind
            embed.add_field(
                name=f"{_dot(view)} {discord_text(view.name)} · {where}"[:256],
                value=quota_value(view, now),
                inline=False,
            )
        embed.set_footer(text=plural(len(ordered), "pool or budget", "pools and budgets"))
        pages.append(embed)
    return pages


async def quota_name_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    return name_choices(chatops_bot(interaction).services.quotas.names(), current)


class QuotasCog(commands.Cog):
    def __init__(self, bot: ChatOpsBot) -> None:
        self.bot = bot

    quota = app_commands.Group(
        name="quota",
        description="LLM quota pools and budgets",
        default_permissions=discord.Permissions(manage_guild=True),
        guild_only=True,
    )

    @quota.command(name="summary", description="Every pool and budget: % left, reset, runway")
    async def summary(self, interaction: discord.Interaction) -> None:
        quotas = self.bot.services.quotas
        await send_pages(interaction, summary_pages(quotas.summary(), self.bot.services.clock()))

    @quota.command(name="detail", description="One pool or budget over time, as a chart")
    @app_commands.describe(name="the pool or budget", span="how far back (default 90m)")
    @app_commands.autocomplete(name=quota_name_autocomplete)
    async def detail(
        self,
        interaction: discord.Interaction,
        name: str,
        span: Literal["90m", "24h", "7d"] = "90m",
    ) -> None:
        found = await self.bot.services.quotas.detail(name, SPANS[span])
        if found is None:
            await interaction.response.send_message(
                f"No pool or budget called {discord_text(name)}.", ephemeral=True
            )
            return
        await interaction.response.defer()
        view = found.view
        now = self.bot.services.clock()
        embed = discord.Embed(
            title=f"{_dot(view)} {discord_text(view.name)}"[:256],
            description=quota_value(view, now),
            colour=_colour(view.pct_left),
        )
        files = []
        if found.samples:
            png = await asyncio.to_thread(
                quota_chart,
                f"{view.name}: % left, last {span}",
                found.samples,
                found.thresholds,
                resets=found.resets,
                forecast=found.forecast,
            )
            files.append(discord.File(io.BytesIO(png), filename="quota.png"))
            embed.set_image(url="attachment://quota.png")
        await interaction.followup.send(embed=embed, files=files)

    @quota.command(name="set", description="Change a budget's limit or thresholds")
    @app_commands.describe(
        name="the budget", limit="new limit", thresholds="% left that alert, e.g. 30,10"
    )
    @app_commands.autocomplete(name=quota_name_autocomplete)
    @admin_only()
    async def set_budget(
        self,
        interaction: discord.Interaction,
        name: str,
        limit: app_commands.Range[float, 0.000001, 1e15] | None = None,
        thresholds: str | None = None,
    ) -> None:
        try:
            levels = (
                None
                if thresholds is None
                else [float(part) for part in thresholds.replace(" ", "").split(",") if part]
            )
            view = self.bot.services.quotas.set_budget(
                name, by=str(interaction.user), limit=limit, thresholds=levels
            )
        except (DomainError, ValueError) as exc:  # the service's refusal, or a bad threshold
            message = str(exc)
            await interaction.response.send_message(
                f"Not changed: {discord_text(message)[:1500]}", ephemeral=True
            )
            return
        await interaction.response.send_message(
            f"Budget **{discord_text(name)}** changed by {interaction.user.mention}: "
            f"{view.used:,.6g}/{view.limit:,.6g} {view.unit}, {view.pct_left:.0f}% left.",
            allowed_mentions=discord.AllowedMentions.none(),
        )


async def setup(bot: ChatOpsBot) -> None:
    await bot.add_cog(QuotasCog(bot))
