"""Views every cog uses: the base view, a confirmation, and a paginator.

``ConfirmView`` follows RoboDanny's confirmation: ``value`` is None (no answer: it timed out),
True (confirmed) or False (cancelled); only the allowed users may press it; on timeout its
buttons are disabled and the message edited, so nobody presses a dead button.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Sequence
from typing import Any

import discord

from chatops.discord.errors import report_error


class ChatOpsView(discord.ui.View):
    """Errors go to the trace-id reporter; on timeout the buttons are disabled in place."""

    message: discord.Message | discord.InteractionMessage | None = None

    def disable_all(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button | discord.ui.Select):
                item.disabled = True

    async def on_timeout(self) -> None:
        self.disable_all()
        if self.message is not None:
            with contextlib.suppress(discord.HTTPException):
                await self.message.edit(view=self)

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await report_error(interaction, error)


class ConfirmView(ChatOpsView):
    def __init__(
        self,
        *,
        allowed_ids: Collection[int],
        timeout: float,
        confirm_label: str = "Confirm",
        cancel_label: str = "Cancel",
    ) -> None:
        super().__init__(timeout=timeout)
        self.allowed_ids = frozenset(allowed_ids)
        self.value: bool | None = None
        self.answered_by: discord.abc.User | None = None
        self.confirm.label = confirm_label
        self.cancel.label = cancel_label

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id in self.allowed_ids:
            return True
        await interaction.response.send_message(
            "This confirmation belongs to whoever asked for it.", ephemeral=True
        )
        return False

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await self._answer(interaction, True)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await self._answer(interaction, False)

    async def _answer(self, interaction: discord.Interaction, value: bool) -> None:
        self.value = value
        self.answered_by = interaction.user
        self.disable_all()
        await interaction.response.edit_message(view=self)
        self.stop()


async def ask_to_confirm(
    interaction: discord.Interaction, prompt: str, *, timeout: float, confirm_label: str
) -> bool | None:
    """Show ``prompt`` with Confirm / Cancel to the user who ran the command and wait for the
    answer; None when it timed out. The caller edits the message with the outcome."""
    view = ConfirmView(
        allowed_ids={interaction.user.id}, timeout=timeout, confirm_label=confirm_label
    )
    await interaction.response.send_message(
        prompt, view=view, allowed_mentions=discord.AllowedMentions.none()
    )
    view.message = await interaction.original_response()
    await view.wait()
    return view.value


async def confirm_in_followup(
    interaction: discord.Interaction, prompt: str, *, timeout: float, confirm_label: str
) -> bool | None:
    """A second confirmation after :func:`ask_to_confirm` (the interaction is answered
    already): sent as a follow-up, to the same user only."""
    view = ConfirmView(
        allowed_ids={interaction.user.id}, timeout=timeout, confirm_label=confirm_label
    )
    view.message = await interaction.followup.send(
        prompt, view=view, wait=True, allowed_mentions=discord.AllowedMentions.none()
    )
    await view.wait()
    return view.value


class Paginator(ChatOpsView):
    """◀ ▶ through pre-rendered embeds; only the person who asked may turn the pages."""

    def __init__(self, pages: Sequence[discord.Embed], owner_id: int, timeout: float = 600):
        super().__init__(timeout=timeout)
        self.pages = list(pages)
        self.owner_id = owner_id
        self.index = 0
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.previous.disabled = self.index == 0
        self.next.disabled = self.index >= len(self.pages) - 1

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message(
                "These pages belong to whoever ran the command; run it yourself.",
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


async def send_pages(
    interaction: discord.Interaction, pages: Sequence[discord.Embed], *, ephemeral: bool = False
) -> None:
    if len(pages) == 1:
        await interaction.response.send_message(embed=pages[0], ephemeral=ephemeral)
        return
    view = Paginator(pages, interaction.user.id)
    await interaction.response.send_message(embed=pages[0], view=view, ephemeral=ephemeral)
    view.message = await interaction.original_response()
