"""Fleet status, per-bot detail with a resource chart, feature costs, and LLM usage."""

from __future__ import annotations

import asyncio
import io
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from chatops.composition.services import Services
from chatops.discord.bot import ChatOpsBot
from chatops.presentation.charts import resource_chart
from chatops.presentation.formatting import discord_text, noun, plural
from chatops.presentation.sessions import SessionView, session_views
from cogs.ui.autocomplete import bot_name_autocomplete
from cogs.ui.checks import guarded
from cogs.ui.embeds import (
    BLUE,
    PURPLE,
    STATUS_COLOUR,
    STATUS_EMOJI,
    absolute,
    fleet_pages,
    relative,
)
from cogs.ui.views import send_pages

READ_PERMISSIONS = discord.Permissions(manage_guild=True)
CHART_HOURS = 6


class StatusCog(commands.Cog):
    def __init__(self, bot: ChatOpsBot) -> None:
        self.bot = bot

    @property
    def services(self) -> Services:
        return self.bot.services

    @app_commands.command(name="status", description="Fleet overview, or one bot in detail")
    @app_commands.describe(
        bot="one bot in detail",
        status="only bots in this status",
        feature="only bots with this feature on",
        host="only the bots of this host (an edge's name, on a hub)",
    )
    @app_commands.autocomplete(bot=bot_name_autocomplete)
    @guarded()
    async def status(
        self,
        interaction: discord.Interaction,
        bot: str | None = None,
        status: Literal["online", "late", "stale", "down", "offline", "unreachable"] | None = None,
        feature: str | None = None,
        host: str | None = None,
    ) -> None:
        if bot is not None:
            await self._bot_detail(interaction, bot)
            return
        bots = self.services.fleet.snapshot()
        if status is not None:
            bots = [b for b in bots if b.status == status]
        if feature is not None:
            bots = [b for b in bots if b.features.get(feature)]
        if host is not None:
            bots = [b for b in bots if b.host == host]
        title = (
            "Fleet status"
            + (f" · {status}" if status else "")
            + (f" · feature {feature}" if feature else "")
            + (f" · host {discord_text(host)}" if host else "")
        )
        degraded = self.services.health.current().reason
        # The sessions of the bots shown: a filter keeps or leaves out a session with its bot.
        sessions = session_views(
            self.services.agents.snapshot(), {b.channel: str(b.status) for b in bots}
        )
        pages = fleet_pages(bots, title=title, degraded=degraded, sessions=sessions)
        await send_pages(interaction, pages)

    async def _bot_detail(self, interaction: discord.Interaction, name: str) -> None:
        detail = await self.services.reports.bot_detail(name, CHART_HOURS)
        if detail is None:
            await interaction.response.send_message(
                f"No bot called {discord_text(name)}.", ephemeral=True
            )
            return
        bot = detail.bot
        await interaction.response.defer()
        embed = discord.Embed(
            title=f"{STATUS_EMOJI[bot.status]} {discord_text(bot.channel)}",
            colour=STATUS_COLOUR[bot.status],
        )
        embed.add_field(
            name="status", value=f"{bot.status} since {relative(bot.status_changed_at)}"
        )
        embed.add_field(name="pid", value=str(bot.pid))
        embed.add_field(name="host", value=discord_text(bot.host or "?"))
        embed.add_field(name="registered", value=absolute(bot.registered_at))
        embed.add_field(name="last heartbeat", value=relative(bot.last_heartbeat))
        embed.add_field(
            name="features", value=discord_text(", ".join(bot.active_features))[:1024] or "none"
        )
        if bot.rss_mb is not None:
            embed.add_field(name="RSS", value=f"{bot.rss_mb:.1f} MB")
        if bot.cpu_pct is not None:
            embed.add_field(name="CPU", value=f"{bot.cpu_pct:.1f}%")
        for view in session_views(detail.agents, {bot.channel: str(bot.status)}):
            add_session_fields(embed, view)
        for agent in detail.agents:
            rate = agent.success_rate
            task = discord_text(agent.current_task or "")[:500]
            embed.add_field(
                name=f"agent {discord_text(agent.name)}"[:256],
                value=(
                    f"{agent.status}"
                    + (f" · {task}" if task else "")
                    + f"\n✅ {agent.tasks_completed} · ❌ {agent.tasks_failed}"
                    + (f" · {rate:.0%} success" if rate is not None else "")
                ),
                inline=False,
            )
        events = detail.events
        if events:
            embed.add_field(
                name="recent events",
                inline=False,
                value="\n".join(
                    f"{relative(e.ts)} {e.kind}: {e.old_status or ''}→{e.new_status or ''} "
                    f"{discord_text(e.detail or '')}"[:120]
                    for e in events
                )[:1024],
            )
        series = detail.series
        files = []
        if len(series) >= 2:
            png = await asyncio.to_thread(
                resource_chart, f"{bot.channel}: last {CHART_HOURS} h", series
            )
            files.append(discord.File(io.BytesIO(png), filename="resources.png"))
            embed.set_image(url="attachment://resources.png")
        await interaction.followup.send(embed=embed, files=files)

    @app_commands.command(name="features", description="RAM and CPU cost of each feature")
    @guarded()
    async def features(self, interaction: discord.Interaction) -> None:
        impacts = await self.services.reports.feature_impact(hours=24)
        embed = discord.Embed(title="Feature cost (last 24 h)", colour=BLUE)
        if not impacts:
            embed.description = "No metrics with features yet."
        lines = []
        for impact in impacts[:40]:
            delta = impact.rss_delta
            versus = (
                f"{delta:+.0f} MB vs without ({impact.rss_without:.0f} MB)"
                if delta is not None and impact.rss_without is not None
                else "every bot has it"
            )
            lines.append(
                f"**{impact.feature}** · {impact.rss_with:.0f} MB avg · {versus} · "
                f"CPU {impact.cpu_with:.1f}% · {plural(impact.bots_with, 'bot')}"
            )
        if lines:
            embed.description = "\n".join(lines)[:4000]
        await interaction.response.send_message(embed=embed)

    llm = app_commands.Group(
        name="llm", description="LLM usage", default_permissions=READ_PERMISSIONS, guild_only=True
    )

    @llm.command(name="usage", description="Tokens, cost, calls and latency")
    @app_commands.describe(
        bot="one bot only",
        days="how many days back (default 30)",
        group_by="break down by model or by feature",
    )
    @app_commands.autocomplete(bot=bot_name_autocomplete)
    async def llm_usage(
        self,
        interaction: discord.Interaction,
        bot: str | None = None,
        days: app_commands.Range[int, 1, 365] = 30,
        group_by: Literal["model", "feature"] = "model",
    ) -> None:
        rows = await self.services.usage.breakdown(bot, days, group_by)
        embed = discord.Embed(
            title=f"LLM usage · {discord_text(bot or 'all bots')} · {plural(days, 'day')} · "
            f"by {group_by}",
            colour=PURPLE,
        )
        total_cost = sum(r.cost for r in rows)
        total_calls = sum(r.calls for r in rows)
        embed.description = (
            f"**{total_calls}** {noun(total_calls, 'call')} · **${total_cost:.4f}**"
            if rows
            else "No LLM usage recorded in that window."
        )
        for row in rows[:25]:
            latency = f"{row.latency_ms:.0f} ms" if row.latency_ms is not None else "-"
            embed.add_field(
                name=discord_text(row.name)[:256],
                value=(
                    f"in {row.tokens_in:,} · out {row.tokens_out:,}\n"
                    f"${row.cost:.4f} · {row.calls} calls · {latency}"
                ),
            )
        await interaction.response.send_message(embed=embed)


SESSION_FIELD_CHARS = 300
"""Raw characters of a session fact before escaping (which at most doubles them): within a
field's 1,024."""


def add_session_fields(embed: discord.Embed, view: SessionView) -> None:
    """A coding-agent session's facts in its bot's detail: what it runs, where, what it last
    did, what it cost and how full its context is; ``waiting`` when it waits for its operator."""
    facts = {
        "session": f"{view.kind} · {view.status}",
        "model": view.model,
        "last tool": view.last_tool,
        "cost": view.cost,
        "context": view.context,
        "cwd": view.cwd,
    }
    for name, value in facts.items():
        text = (
            value if len(value) <= SESSION_FIELD_CHARS else value[: SESSION_FIELD_CHARS - 1] + "…"
        )
        embed.add_field(name=name, value=discord_text(text), inline=name != "cwd")


async def setup(bot: ChatOpsBot) -> None:
    await bot.add_cog(StatusCog(bot))
