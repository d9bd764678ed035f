"""Silences: mute one bot (or one kind of its alerts), or everything for maintenance; each
expires by itself. Alert messages carry this cog's persistent Silence button."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from chatops.alerts.silences import SilenceService
from chatops.discord.bot import ChatOpsBot
from chatops.presentation.formatting import describe_duration, discord_text, parse_duration
from chatops.presentation.markup import DISCORD
from chatops.presentation.silences import (
    NO_SILENCES,
    ended_text,
    silence_text,
    silenced_text,
)
from chatops.records.alerts import Alert
from cogs.ui.autocomplete import bot_name_autocomplete
from cogs.ui.buttons import AdminButton
from cogs.ui.checks import chatops_bot, guarded
from cogs.ui.embeds import GREY, absolute, relative
from cogs.ui.views import ask_to_confirm

SILENCE_SECONDS = 3600


def _when(ts: float) -> str:
    return f"{absolute(ts)} ({relative(ts)})"


class SilenceButton(
    AdminButton,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"chatops:silence:(?P<subject>[^:]{1,80})",
):
    """On problem alerts: silence that subject for an hour. Survives restarts (the state is in
    the custom id), and only admins may press it."""

    def __init__(self, subject: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Silence 1 h",
                style=discord.ButtonStyle.secondary,
                emoji="🔕",
                custom_id=f"chatops:silence:{subject}",
            )
        )
        self.subject = subject

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> SilenceButton:
        return cls(match["subject"])

    async def pressed(self, interaction: discord.Interaction) -> None:
        silence = chatops_bot(interaction).services.silences.add(
            self.subject,
            SILENCE_SECONDS,
            created_by=str(interaction.user),
            reason="button on alert",
        )
        await interaction.response.send_message(
            f"🔕 **{discord_text(self.subject)}** silenced until {absolute(silence.until)} "
            f"by {interaction.user.mention}.",
            allowed_mentions=discord.AllowedMentions.none(),
        )


def silence_buttons(alerts: Sequence[Alert]) -> list[SilenceButton]:
    """A Silence button under a single problem alert whose subject fits a custom id."""
    if len(alerts) != 1 or not alerts[0].severity.is_problem:
        return []
    subject = alerts[0].subject
    if len(subject) > 80 or ":" in subject:
        return []
    return [SilenceButton(subject)]


class AlertsCog(commands.Cog):
    def __init__(self, bot: ChatOpsBot) -> None:
        self.bot = bot
        self._remove_buttons: Callable[[], None] | None = None

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(SilenceButton)
        if self.bot.alert_sink is not None:
            self._remove_buttons = self.bot.alert_sink.add_buttons(silence_buttons)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(SilenceButton)
        if self._remove_buttons is not None:
            self._remove_buttons()
            self._remove_buttons = None

    @property
    def silences(self) -> SilenceService:
        return self.bot.services.silences

    @app_commands.command(name="silence", description="Hold one bot's alerts for a while")
    @app_commands.describe(
        bot="the bot",
        duration="e.g. 30m, 2h, 1d",
        reason="why",
        kind="only this kind of its alerts (e.g. down); all kinds when left out",
    )
    @app_commands.autocomplete(bot=bot_name_autocomplete)
    @guarded(admin=True)
    async def silence(
        self,
        interaction: discord.Interaction,
        bot: str,
        duration: str,
        reason: str | None = None,
        kind: app_commands.Range[str, 1, 64] | None = None,
    ) -> None:
        try:
            seconds = parse_duration(duration)
        except ValueError as exc:
            await interaction.response.send_message(f"Invalid duration: {exc}", ephemeral=True)
            return
        # A name the fleet does not know, or over 30 days: refused (report_error answers).
        silence = self.silences.silence_bot(
            bot, seconds, kind=kind, created_by=str(interaction.user), reason=reason
        )
        await interaction.response.send_message(
            f"🔕 {silenced_text(silence, DISCORD, _when)}",
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @app_commands.command(name="maintenance", description="Hold every alert for a while")
    @app_commands.describe(duration="e.g. 30m, 2h", reason="why")
    @guarded(admin=True)
    async def maintenance(
        self, interaction: discord.Interaction, duration: str, reason: str | None = None
    ) -> None:
        try:
            seconds = parse_duration(duration)
        except ValueError as exc:
            await interaction.response.send_message(f"Invalid duration: {exc}", ephemeral=True)
            return
        self.silences.check_length(seconds)  # refused before the confirmation, not after it
        confirmed = await ask_to_confirm(
            interaction,
            f"Hold **every** alert for {describe_duration(seconds)}? Nothing will reach the "
            "channel or the webhooks until it ends.",
            timeout=self.bot.settings.discord.confirm_timeout,
            confirm_label="Hold every alert",
        )
        if not confirmed:
            outcome = "Cancelled." if confirmed is False else "No answer; nothing changed."
            await interaction.edit_original_response(content=outcome)
            return
        silence = self.silences.add(None, seconds, created_by=str(interaction.user), reason=reason)
        await interaction.edit_original_response(
            content=f"🔕 {silenced_text(silence, DISCORD, _when)}",
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @app_commands.command(name="silences", description="List active silences")
    @guarded()
    async def list_silences(self, interaction: discord.Interaction) -> None:
        active = self.silences.active()
        text = "\n".join(silence_text(s, DISCORD, _when) for s in active)[:4000] or NO_SILENCES
        await interaction.response.send_message(
            embed=discord.Embed(title="Silences", description=text, colour=GREY),
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @app_commands.command(name="unsilence", description="End a silence early")
    @app_commands.describe(silence_id="the number shown by /silences")
    @guarded(admin=True)
    async def unsilence(self, interaction: discord.Interaction, silence_id: int) -> None:
        # One that is not active: refused (report_error answers).
        self.silences.end(silence_id, by=str(interaction.user))
        await interaction.response.send_message(f"🔔 {ended_text(silence_id)}")


async def setup(bot: ChatOpsBot) -> None:
    await bot.add_cog(AlertsCog(bot))
