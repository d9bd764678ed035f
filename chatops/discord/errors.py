"""One place that turns a failure in a command or a component into an answer to the user."""

from __future__ import annotations

import logging
import uuid

import discord
from discord import app_commands

from chatops.presentation.formatting import discord_text
from chatops.services.errors import DomainError

log = logging.getLogger("chatops.discord")


class NotAllowed(app_commands.CheckFailure):
    """Raised by the permission checks; its message is shown to the user as is."""


async def report_error(interaction: discord.Interaction, error: Exception) -> None:
    """An ephemeral answer, never a silent failure: a refused check, or a service's refusal
    (a :class:`~chatops.services.errors.DomainError`), says why; anything else gets a trace id
    that is also in the controller's log, with the traceback."""
    original = getattr(error, "original", error)
    if isinstance(error, app_commands.CheckFailure):
        message = str(error) or "You are not allowed to do that."
    elif isinstance(original, DomainError):
        message = refusal_text(original)
    else:
        trace = uuid.uuid4().hex[:8]
        name = interaction.command.qualified_name if interaction.command else "component"
        log.error("%s failed [trace %s]", name, trace, exc_info=original)
        message = f"Something went wrong (trace id `{trace}`). The controller's log has details."
    try:
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True)
        else:
            await interaction.response.send_message(message, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not tell the user about an error: %s", message)


def refusal_text(error: DomainError) -> str:
    """A service's refusal as a Discord message: its own words, names escaped."""
    return discord_text(str(error))[:2000]
