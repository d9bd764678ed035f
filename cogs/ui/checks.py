"""Who may do what. Commands are invisible to members until a guild admin opens them up
(``default_permissions``), never usable in DMs, and state-changing ones also need chatops's own
admin (or approver) configuration: deny when unsure."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import discord
from discord import app_commands

from chatops.discord.bot import ChatOpsBot
from chatops.discord.errors import NotAllowed

T = TypeVar("T")

ADMIN_REFUSAL = (
    "You need an admin role or to be an admin user in chatops's configuration "
    "(discord.admin_role_ids / discord.admin_user_ids) to change anything."
)
APPROVER_REFUSAL = (
    "Only chatops approvers (approvals.approver_role_ids / approver_user_ids; the admins when "
    "none are configured) can answer approvals."
)


def chatops_bot(interaction: discord.Interaction) -> ChatOpsBot:
    client = interaction.client
    assert isinstance(client, ChatOpsBot)
    return client


Permission = Callable[[ChatOpsBot, discord.abc.User], bool]


def is_admin(bot: ChatOpsBot, user: discord.abc.User) -> bool:
    return bot.is_admin(user)


def is_approver(bot: ChatOpsBot, user: discord.abc.User) -> bool:
    return bot.is_approver(user)


def requires(permission: Permission, refusal: str) -> Callable[[T], T]:
    """App-command check: the user must have ``permission``, else ``refusal`` is shown."""

    async def predicate(interaction: discord.Interaction) -> bool:
        if not permission(chatops_bot(interaction), interaction.user):
            raise NotAllowed(refusal)
        return True

    return app_commands.check(predicate)


def admin_only() -> Callable[[T], T]:
    """State-changing commands need a configured admin role or user."""
    return requires(is_admin, ADMIN_REFUSAL)


def guarded(*, admin: bool = False) -> Callable[[T], T]:
    """The decorator stack of every top-level command: hidden from members by default
    (``manage_guild``), guild only, and admin-only when it changes something."""

    def decorate(command: T) -> T:
        command = app_commands.default_permissions(manage_guild=True)(command)
        command = app_commands.guild_only()(command)
        if admin:
            command = admin_only()(command)
        return command

    return decorate
