"""The modals an approval prompt opens: *Deny* (the reason the agent gets back) and *Edit and
approve* (the one field an approver edits, prefilled). Either is submitted by approvers only:
a modal's id reaches whoever holds it, so the check is on the submit, not only on the button
that opened it. What a submit means is the approvals cog's to carry out (:class:`Answering`)."""

from __future__ import annotations

from typing import Any, Protocol

import discord

from chatops.discord.errors import report_error
from cogs.ui.checks import APPROVER_REFUSAL, chatops_bot, is_approver

MODAL_CHARS = 4000
"""Discord's longest text input: a longer value is prefilled cut, and the label says so."""
_LABELS = {"command": "Command", "new_string": "New text"}


class Answering(Protocol):
    """What the modals need of the approvals cog."""

    async def answer(
        self,
        interaction: discord.Interaction,
        request_id: int,
        *,
        approve: bool,
        reason: str | None = None,
    ) -> None: ...

    async def answer_edited(
        self,
        interaction: discord.Interaction,
        request_id: int,
        changes: dict[str, Any],
        comment: str | None,
    ) -> None: ...


class ApproverModal(discord.ui.Modal):
    """A modal on a prompt: submitted by approvers only (whoever holds its id), errors
    reported with a trace id."""

    def __init__(self, cog: Answering, request_id: int) -> None:
        super().__init__(timeout=600)
        self.cog = cog
        self.request_id = request_id

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if is_approver(chatops_bot(interaction), interaction.user):
            return True
        await interaction.response.send_message(APPROVER_REFUSAL, ephemeral=True)
        return False

    async def on_error(  # type: ignore[override]  # a Modal's on_error has no item
        self, interaction: discord.Interaction, error: Exception, /
    ) -> None:
        await report_error(interaction, error)


class DenyReason(ApproverModal, title="Deny this request"):
    reason: discord.ui.TextInput[DenyReason] = discord.ui.TextInput(
        label="Reason (sent back to the agent)",
        style=discord.TextStyle.paragraph,
        required=False,
        max_length=500,
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self.cog.answer(
            interaction, self.request_id, approve=False, reason=self.reason.value or None
        )


class EditAndApprove(ApproverModal, title="Edit and approve"):
    """One box, prefilled with the field an approver edits (the command, the new text) with
    its secrets masked; what is submitted replaces that field and is judged again."""

    comment: discord.ui.TextInput[EditAndApprove] = discord.ui.TextInput(
        label="Comment (sent back to the agent)", required=False, max_length=500
    )

    def __init__(self, cog: Answering, request_id: int, field: str, value: str) -> None:
        super().__init__(cog, request_id)
        self.field = field
        cut = len(value) > MODAL_CHARS
        label = _LABELS.get(field, "Content")
        self.value: discord.ui.TextInput[EditAndApprove] = discord.ui.TextInput(
            label=f"{label} (first {MODAL_CHARS} chars; replaces all)" if cut else label,
            style=discord.TextStyle.paragraph,
            default=value[:MODAL_CHARS],
            max_length=MODAL_CHARS,
        )
        self.remove_item(self.comment)
        self.add_item(self.value).add_item(self.comment)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self.cog.answer_edited(
            interaction, self.request_id, {self.field: self.value.value}, self.comment.value
        )
