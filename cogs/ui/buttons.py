"""What persistent buttons share. Each cog defines its own ``DynamicItem`` buttons (their
state lives in the ``custom_id``, so they work after a restart) and registers them when it
loads, as RoboDanny's cogs do; these mixins give them the permission check and the error
reporting every button needs: discord.py only logs an exception raised by a dynamic item's
callback, so the user would see "interaction failed" with no trace id. A button implements
``pressed`` instead of ``callback``."""

from __future__ import annotations

import discord

from chatops.discord.errors import report_error
from cogs.ui.checks import ADMIN_REFUSAL, APPROVER_REFUSAL, chatops_bot


class _Reporting:
    async def pressed(self, interaction: discord.Interaction) -> None:
        raise NotImplementedError

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await self.pressed(interaction)
        except Exception as error:
            await report_error(interaction, error)


class AdminButton(_Reporting):
    """Mixin for a persistent button only chatops admins may press."""

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if chatops_bot(interaction).is_admin(interaction.user):
            return True
        await interaction.response.send_message(ADMIN_REFUSAL, ephemeral=True)
        return False


class ApproverButton(_Reporting):
    """Mixin for a persistent button only approvers (and admins) may press."""

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if chatops_bot(interaction).is_approver(interaction.user):
            return True
        await interaction.response.send_message(APPROVER_REFUSAL, ephemeral=True)
        return False
