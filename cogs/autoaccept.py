"""``/autoaccept``: the approval policy from Discord. ``toggle`` and ``rule`` change it
(admins; validated and persisted), ``revoke`` removes a grant; ``stats``, ``recent`` and
``rules`` read it."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands
from pydantic import ValidationError

from chatops.config.approvals import ActionType
from chatops.discord.bot import ChatOpsBot
from chatops.presentation.approvals import STATE_EMOJI, outcome_line, revoked_text
from chatops.presentation.formatting import discord_text
from chatops.presentation.markup import DISCORD
from chatops.presentation.rules import (
    rule_changes,
    rule_line,
    stats_fields,
    stats_summary,
    stats_title,
    toggle_text,
)
from chatops.services.approvals.service import ApprovalService
from cogs.ui.checks import admin_only
from cogs.ui.embeds import BLUE, GREEN, GREY, relative

_TYPES = [app_commands.Choice(name=str(kind), value=str(kind)) for kind in ActionType]


class AutoAcceptCog(commands.Cog):
    def __init__(self, bot: ChatOpsBot) -> None:
        self.bot = bot

    autoaccept = app_commands.Group(
        name="autoaccept",
        description="The approval policy: toggle, rules, grants, statistics",
        default_permissions=discord.Permissions(manage_guild=True),
        guild_only=True,
    )

    @property
    def service(self) -> ApprovalService:
        return self.bot.services.approvals

    @autoaccept.command(name="toggle", description="Turn auto-accept on or off for everything")
    @app_commands.describe(enabled="on or off (flips it when left out)")
    @admin_only()
    async def toggle(self, interaction: discord.Interaction, enabled: bool | None = None) -> None:
        state = self.service.controls.toggle(enabled, by=str(interaction.user))
        await interaction.response.send_message(
            f"Auto-accept is **{toggle_text(state)}** (changed by {interaction.user.mention}).",
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @autoaccept.command(name="stats", description="Decisions by outcome and type, time to decide")
    @app_commands.describe(days="only the last N days (all when left out)")
    async def stats(
        self, interaction: discord.Interaction, days: app_commands.Range[int, 1, 3650] | None = None
    ) -> None:
        stats = await self.service.controls.statistics(days)
        embed = discord.Embed(
            title=stats_title(days),
            colour=GREEN if stats.enabled else GREY,
            description=stats_summary(stats, DISCORD),
        )
        for index, (name, value) in enumerate(stats_fields(stats, DISCORD, STATE_EMOJI)):
            embed.add_field(name=name, value=value[:1024], inline=index < 2)
        await interaction.response.send_message(embed=embed)

    @autoaccept.command(name="recent", description="The latest requests and their outcomes")
    @app_commands.describe(limit="how many (default 10)")
    async def recent(
        self, interaction: discord.Interaction, limit: app_commands.Range[int, 1, 25] = 10
    ) -> None:
        records = await self.service.controls.get_recent_actions(limit)
        lines = [
            f"`#{r.id}` {relative(r.requested_at)} **{discord_text(r.agent)}** {r.action_type}: "
            f"{discord_text(r.summary)[:120]}\n  {discord_text(outcome_line(r))}"
            for r in records
        ]
        await interaction.response.send_message(
            embed=discord.Embed(
                title="Recent approval requests",
                description="\n".join(lines)[:4000] or "No requests yet.",
                colour=BLUE,
            ),
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @autoaccept.command(name="rules", description="The effective rules and the active grants")
    async def rules(self, interaction: discord.Interaction) -> None:
        config = self.service.config
        embed = discord.Embed(
            title="Approval rules",
            colour=GREEN if config.auto_accept else GREY,
            description=f"Auto-accept is **{'on' if config.auto_accept else 'off'}**\n\n"
            + "\n".join(rule_line(str(k), r, DISCORD) for k, r in config.rules.items())[:3500],
        )
        grants = self.service.grants.active()
        lines = [
            f"`#{g.id}` **{discord_text(g.agent)}** · {g.action_type} · "
            + ("always" if g.until is None else f"until {relative(g.until)}")
            + f" · by {discord_text(g.created_by)}"
            for g in grants
        ]
        embed.add_field(
            name="Grants (remove with /autoaccept revoke)",
            value="\n".join(lines)[:1024] or "none",
            inline=False,
        )
        await interaction.response.send_message(
            embed=embed, allowed_mentions=discord.AllowedMentions.none()
        )

    @autoaccept.command(name="rule", description="Change one action type's rule")
    @app_commands.describe(
        action_type="the action type",
        enabled="auto-accept this type when nothing blocks it",
        requires_confirmation="always ask a human",
        max_file_size_mb="largest file accepted",
        timeout="seconds a prompt waits before it denies",
        approvals_required="distinct approvers needed",
        blocked_patterns="comma-separated globs; - for none",
        allowed_patterns="comma-separated globs; - for none",
    )
    @app_commands.choices(action_type=_TYPES)
    @admin_only()
    async def rule(
        self,
        interaction: discord.Interaction,
        action_type: str,
        enabled: bool | None = None,
        requires_confirmation: bool | None = None,
        max_file_size_mb: app_commands.Range[float, 0.001, 10240.0] | None = None,
        timeout: app_commands.Range[float, 1.0, 86400.0] | None = None,
        approvals_required: app_commands.Range[int, 1, 10] | None = None,
        blocked_patterns: str | None = None,
        allowed_patterns: str | None = None,
    ) -> None:
        changes = rule_changes(
            enabled=enabled,
            requires_confirmation=requires_confirmation,
            max_file_size_mb=max_file_size_mb,
            timeout=timeout,
            approvals_required=approvals_required,
            blocked_patterns=blocked_patterns,
            allowed_patterns=allowed_patterns,
        )
        if not changes:
            await interaction.response.send_message("Nothing to change.", ephemeral=True)
            return
        try:
            rule = self.service.controls.update_rule(action_type, changes, by=str(interaction.user))
        except (ValidationError, ValueError) as exc:
            await interaction.response.send_message(
                f"Not changed: {discord_text(str(exc))[:1500]}", ephemeral=True
            )
            return
        await interaction.response.send_message(
            f"Rule changed by {interaction.user.mention}:\n{rule_line(action_type, rule, DISCORD)}",
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @autoaccept.command(name="revoke", description="Remove a grant (see /autoaccept rules)")
    @app_commands.describe(grant="the grant's number")
    @admin_only()
    async def revoke(self, interaction: discord.Interaction, grant: int) -> None:
        # No active grant of that number: refused (report_error answers).
        removed = self.service.granting.revoke_grant(grant, by=str(interaction.user))
        await interaction.response.send_message(
            revoked_text(removed, lambda agent: f"**{discord_text(agent)}**"),
            allowed_mentions=discord.AllowedMentions.none(),
        )


async def setup(bot: ChatOpsBot) -> None:
    await bot.add_cog(AutoAcceptCog(bot))
