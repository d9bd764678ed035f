"""Silences: mute one bot, or everything for maintenance; each expires by itself."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from chatops.alerts.silences import Silence, SilenceService
from chatops.discord.bot import ChatOpsBot
from chatops.presentation.formatting import describe_duration, discord_text, parse_duration
from cogs.ui import admin_only, bot_name_autocomplete

MAX_SILENCE = 30 * 86400


def _duration(text: str) -> float:
    seconds = parse_duration(text)
    if seconds > MAX_SILENCE:
        raise ValueError("at most 30 days")
    return seconds


def _describe(silence: Silence) -> str:
    target = (
        f"**{discord_text(silence.channel)}**"
        if silence.channel
        else "**everything** (maintenance)"
    )
    by = f" by {discord_text(silence.created_by)}" if silence.created_by else ""
    why = f" — {discord_text(silence.reason)}" if silence.reason else ""
    until = int(silence.until)
    return f"#{silence.id} {target} until <t:{until}:f> (<t:{until}:R>){by}{why}"


class AlertsCog(commands.Cog):
    def __init__(self, bot: ChatOpsBot) -> None:
        self.bot = bot

    @property
    def silences(self) -> SilenceService:
        return self.bot.controller.services.silences

    async def _add(
        self,
        interaction: discord.Interaction,
        channel: str | None,
        duration: str,
        reason: str | None,
    ) -> None:
        try:
            seconds = _duration(duration)
        except ValueError as exc:
            await interaction.response.send_message(f"Invalid duration: {exc}", ephemeral=True)
            return
        silence = self.silences.add(
            channel, seconds, created_by=str(interaction.user), reason=reason
        )
        await interaction.response.send_message(
            f"🔕 Silenced {_describe(silence)} — for {describe_duration(seconds)}.",
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @app_commands.command(name="silence", description="Hold one bot's alerts for a while")
    @app_commands.describe(bot="the bot", duration="e.g. 30m, 2h, 1d", reason="why")
    @app_commands.autocomplete(bot=bot_name_autocomplete)
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @admin_only()
    async def silence(
        self, interaction: discord.Interaction, bot: str, duration: str, reason: str | None = None
    ) -> None:
        if bot not in self.bot.controller.services.fleet.bots:
            name = discord_text(bot)
            await interaction.response.send_message(
                f"No bot called {name}; pick one from the list.", ephemeral=True
            )
            return
        await self._add(interaction, bot, duration, reason)

    @app_commands.command(name="maintenance", description="Hold every alert for a while")
    @app_commands.describe(duration="e.g. 30m, 2h", reason="why")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @admin_only()
    async def maintenance(
        self, interaction: discord.Interaction, duration: str, reason: str | None = None
    ) -> None:
        await self._add(interaction, None, duration, reason)

    @app_commands.command(name="silences", description="List active silences")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def list_silences(self, interaction: discord.Interaction) -> None:
        active = self.silences.active()
        text = "\n".join(_describe(s) for s in active)[:4000] or "No active silences."
        await interaction.response.send_message(
            embed=discord.Embed(title="Silences", description=text, colour=0x95A5A6),
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @app_commands.command(name="unsilence", description="End a silence early")
    @app_commands.describe(silence_id="the number shown by /silences")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @admin_only()
    async def unsilence(self, interaction: discord.Interaction, silence_id: int) -> None:
        if self.silences.remove(silence_id):
            await interaction.response.send_message(f"🔔 Silence #{silence_id} ended.")
        else:
            await interaction.response.send_message(f"No silence #{silence_id}.", ephemeral=True)


async def setup(bot: ChatOpsBot) -> None:
    await bot.add_cog(AlertsCog(bot))
