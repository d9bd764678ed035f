"""Administration of chatops itself."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from chatops.discord.bot import ChatOpsBot
from cogs.ui.checks import admin_only


class AdminCog(commands.Cog):
    def __init__(self, bot: ChatOpsBot) -> None:
        self.bot = bot

    group = app_commands.Group(
        name="chatops",
        description="chatops administration",
        default_permissions=discord.Permissions(administrator=True),
        guild_only=True,
    )

    @group.command(name="sync", description="Push the slash commands to Discord now")
    @admin_only()
    async def sync(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True)
        await self.bot.sync_commands(force=True)
        await interaction.followup.send("Slash commands synced.", ephemeral=True)


async def setup(bot: ChatOpsBot) -> None:
    await bot.add_cog(AdminCog(bot))
