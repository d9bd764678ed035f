"""The web dashboard from Discord: ``/web login`` answers, to the person alone, a one-time link
that opens a browser session carrying their Discord id and the role their Discord roles give
them; ``/web sessions`` lists the live sessions and revokes one (admins).

The role is decided here exactly as every command and button decides who may do what: a
chatops admin (``discord.admin_*``) signs in as admin, an approver (``approvals.approver_*``,
the admins when none are set) as approver, anyone else who may run the command as viewer. So
the browser lets a person do what Discord already lets them do, nothing more. The link is in
an ephemeral answer only, and never logged; the URL is wrapped in ``<…>`` so Discord shows no
preview card for it (a preview would only fetch the Sign in page, which spends nothing, but
there is no reason to fetch it at all)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from chatops.discord.bot import ChatOpsBot
from chatops.presentation.markup import DISCORD
from chatops.presentation.web_access import NO_SESSIONS, link_text, revoked_text, session_text
from chatops.records.web import Role
from chatops.services.web_sessions import WebSessions
from cogs.ui.checks import admin_only
from cogs.ui.embeds import GREY, relative


def web_role(bot: ChatOpsBot, user: discord.abc.User) -> Role:
    """The web role of a Discord user: what their roles let them do in Discord."""
    if bot.is_admin(user):
        return Role.ADMIN
    if bot.is_approver(user):
        return Role.APPROVER
    return Role.VIEWER


class WebCog(commands.Cog):
    def __init__(self, bot: ChatOpsBot) -> None:
        self.bot = bot

    web = app_commands.Group(
        name="web",
        description="The web dashboard: a one-time login link, the live sessions",
        default_permissions=discord.Permissions(manage_guild=True),
        guild_only=True,
    )

    @property
    def sessions_service(self) -> WebSessions:
        return self.bot.services.web_sessions

    @web.command(name="login", description="A one-time link to the web dashboard, for you alone")
    async def login(self, interaction: discord.Interaction) -> None:
        user = interaction.user
        service = self.sessions_service
        # While no dashboard is served: refused with why (report_error answers, ephemeral).
        link = service.login_link(str(user), web_role(self.bot, user), discord_id=user.id)
        note = link_text(
            link.person,
            link.role,
            service.config.link_minutes * 60,
            relative(link.expires_at),
            DISCORD,
        )
        await interaction.response.send_message(f"🔑 <{link.url}>\n{note}", ephemeral=True)

    @web.command(name="sessions", description="The live web sessions; revoke one (admins)")
    @app_commands.describe(revoke="end this session now (its number in the list)")
    @admin_only()
    async def sessions(
        self,
        interaction: discord.Interaction,
        revoke: app_commands.Range[int, 1] | None = None,
    ) -> None:
        service = self.sessions_service
        # A session that is not live: refused in the service's words (report_error answers).
        done = revoked_text(service.revoke(revoke), DISCORD) if revoke is not None else None
        listing = "\n".join(session_text(s, DISCORD, relative) for s in service.sessions())
        embed = discord.Embed(
            title="Web sessions", description=(listing or NO_SESSIONS)[:4000], colour=GREY
        )
        await interaction.response.send_message(
            done, embed=embed, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )


async def setup(bot: ChatOpsBot) -> None:
    await bot.add_cog(WebCog(bot))
