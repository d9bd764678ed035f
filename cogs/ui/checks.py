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
    "Only chatops approvers (discord.approver_role_ids / approver_user_ids) or admins can "
    "answer approvals."
)


def chatops_bot(interaction: discord.Interaction) -> ChatOpsBot:
    client = interaction.client
    assert isinstance(client, ChatOpsBot)
    return client


def admin_only() -> Callable[[T], T]:
    """App-command check: state-changing commands need a configured admin role or user."""

    async def predicate(interaction: discord.Interaction) -> bool:
        if not chatops_bot(interaction).is_admin(interaction.user):
            raise NotAllowed(ADMIN_REFUSAL)
        return True

    return app_commands.check(predicate)


def approver_only() -> Callable[[T], T]:
    async def predicate(interaction: discord.Interaction) -> bool:
        if not chatops_bot(interaction).is_approver(interaction.user):
            raise NotAllowed(APPROVER_REFUSAL)
        return True

    return app_commands.check(predicate)


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
