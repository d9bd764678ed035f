"""``/autoaccept``: the approval policy from Discord. ``toggle`` and ``rule`` change it
(admins; validated and persisted), ``revoke`` removes a grant; ``stats``, ``recent`` and
``rules`` read it."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands
from pydantic import ValidationError

from chatops.config.approvals import ActionType, Rule
from chatops.discord.bot import ChatOpsBot
from chatops.presentation.approvals import STATE_EMOJI, outcome_line, revoked_text
from chatops.presentation.formatting import describe_duration, discord_text, plural
from chatops.services.approvals.service import ApprovalService
from cogs.ui.checks import admin_only
from cogs.ui.embeds import BLUE, GREEN, GREY, relative

_TYPES = [app_commands.Choice(name=str(kind), value=str(kind)) for kind in ActionType]


def rule_line(kind: str, rule: Rule) -> str:
    parts = [
        "auto-accept" if rule.enabled and not rule.requires_confirmation else "asks a human",
        f"timeout {describe_duration(rule.timeout)}",
    ]
    if rule.max_file_size_mb is not None:
        parts.append(f"max {rule.max_file_size_mb:g} MB")
    if rule.approvals_required > 1:
        parts.append(f"{rule.approvals_required} approvers")
    if rule.blocked_patterns:
        parts.append("blocks " + ", ".join(f"`{p}`" for p in rule.blocked_patterns))
    if rule.allowed_patterns:
        parts.append("only " + ", ".join(f"`{p}`" for p in rule.allowed_patterns))
    if rule.custom_validator:
        parts.append(f"validator `{rule.custom_validator}`")
    return f"**{kind}** · " + " · ".join(parts)


def _patterns(text: str | None) -> list[str] | None:
    """A comma-separated list; ``-`` empties it; None leaves it as it is."""
    if text is None:
        return None
    if text.strip() == "-":
        return []
    return [part.strip() for part in text.split(",") if part.strip()]


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
        text = (
            "on: what the rules allow is accepted at once"
            if state
            else "off: every action that is not blocked waits for a human"
        )
        await interaction.response.send_message(
            f"Auto-accept is **{text}** (changed by {interaction.user.mention}).",
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @autoaccept.command(name="stats", description="Decisions by outcome and type, time to decide")
    @app_commands.describe(days="only the last N days (all when left out)")
    async def stats(
        self, interaction: discord.Interaction, days: app_commands.Range[int, 1, 3650] | None = None
    ) -> None:
        stats = await self.service.controls.statistics(days)
        embed = discord.Embed(
            title="Auto-accept statistics" + (f" · last {plural(days, 'day')}" if days else ""),
            colour=GREEN if stats.enabled else GREY,
            description=f"Auto-accept is **{'on' if stats.enabled else 'off'}** · "
            f"{plural(stats.total_actions, 'request')}",
        )
        outcomes = stats.by_outcome
        embed.add_field(
            name="By outcome",
            value="\n".join(f"{STATE_EMOJI.get(k, '•')} {k}: **{v}**" for k, v in outcomes.items())
            or "none yet",
        )
        by_type = stats.by_type
        embed.add_field(
            name="By type",
            value="\n".join(
                f"**{kind}**: " + ", ".join(f"{k} {v}" for k, v in sorted(states.items()))
                for kind, states in sorted(by_type.items())
            )[:1024]
            or "none yet",
        )
        median = stats.median_decision_ms
        embed.add_field(
            name="Time to decide (humans)",
            value="—"
            if median is None
            else f"median {describe_duration(median / 1000)} over {stats.decided_by_humans}",
            inline=False,
        )
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
            + "\n".join(rule_line(str(k), r) for k, r in config.rules.items())[:3500],
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
        changes: dict[str, Any] = {
            "enabled": enabled,
            "requires_confirmation": requires_confirmation,
            "max_file_size_mb": max_file_size_mb,
            "timeout": timeout,
            "approvals_required": approvals_required,
            "blocked_patterns": _patterns(blocked_patterns),
            "allowed_patterns": _patterns(allowed_patterns),
        }
        changes = {key: value for key, value in changes.items() if value is not None}
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
            f"Rule changed by {interaction.user.mention}:\n{rule_line(action_type, rule)}",
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
