"""Autocomplete shared by the cogs."""

from __future__ import annotations

from collections.abc import Iterable

import discord
from discord import app_commands

from cogs.ui.checks import chatops_bot


def name_choices(names: Iterable[str], current: str) -> list[app_commands.Choice[str]]:
    """The names containing what was typed, case-insensitively: Discord shows 25 at most."""
    typed = current.lower()
    return [app_commands.Choice(name=n, value=n) for n in names if typed in n.lower()][:25]


async def bot_name_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    return name_choices(sorted(chatops_bot(interaction).services.fleet.bots), current)
