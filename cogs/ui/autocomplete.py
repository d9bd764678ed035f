"""Autocomplete shared by the cogs."""

from __future__ import annotations

import discord
from discord import app_commands

from cogs.ui.checks import chatops_bot


async def bot_name_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    names = sorted(chatops_bot(interaction).services.fleet.bots)
    current = current.lower()
    return [app_commands.Choice(name=n, value=n) for n in names if current in n.lower()][:25]
