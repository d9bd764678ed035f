"""What persistent buttons share. Each cog defines its own ``DynamicItem`` buttons (their
state lives in the ``custom_id``, so they work after a restart) and registers them when it
loads, as RoboDanny's cogs do; these mixins give them the permission check and the error
reporting every button needs: discord.py only logs an exception raised by a dynamic item's
callback, so the user would see "interaction failed" with no trace id. A button implements
``pressed`` instead of ``callback``."""

from __future__ import annotations

import discord

from chatops.discord.errors import report_error
from cogs.ui.checks import (
    ADMIN_REFUSAL,
    APPROVER_REFUSAL,
    Permission,
    chatops_bot,
    is_admin,
    is_approver,
)


class _Gated:
    """Who may press the button (``permission``), what others are told (``refusal``), and
    errors reported with a trace id."""

    permission: Permission = staticmethod(is_admin)
    refusal: str = ADMIN_REFUSAL

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if type(self).permission(chatops_bot(interaction), interaction.user):
            return True
        await interaction.response.send_message(self.refusal, ephemeral=True)
        return False

    async def pressed(self, interaction: discord.Interaction) -> None:
        raise NotImplementedError

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await self.pressed(interaction)
        except Exception as error:
            await report_error(interaction, error)


class AdminButton(_Gated):
    """Mixin for a persistent button only chatops admins may press."""


class ApproverButton(_Gated):
    """Mixin for a persistent button only approvers may press."""

    permission = staticmethod(is_approver)
    refusal = APPROVER_REFUSAL
