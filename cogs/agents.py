"""Coding-agent sessions from Discord: answer one that waits or finished.

The ``agent_waiting`` and ``agent_finished`` alerts (:mod:`chatops.alerts.sessions`) carry a
**Reply** button; it opens a modal whose words go to the session
(:meth:`~chatops.services.replies.ReplyService.reply`): its ``Stop`` hook, waiting with
``--wait-reply``, hands them to the agent, which goes on with them. ``/agent reply`` does the
same by name. Both are for approvers only, as answering an approval is (a reply makes an agent
act). The button is a ``DynamicItem`` carrying the session's reference (its name, or a hash of
a name too long for a ``custom_id``), so it works after a restart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from chatops.alerts.sessions import SESSION_KINDS
from chatops.discord.bot import ChatOpsBot
from chatops.discord.errors import report_error
from chatops.presentation.formatting import discord_text
from chatops.records.alerts import Alert, Severity
from chatops.records.replies import MAX_REPLY_CHARS
from chatops.services.replies import ReplyOutcome, ReplyService
from cogs.ui.buttons import ApproverButton
from cogs.ui.checks import APPROVER_REFUSAL, chatops_bot, is_approver, requires

BUTTONS_MAX = 5
"""Reply buttons under one alert message: one row."""
MODAL_TITLE_MAX = 45
BUTTON_LABEL_MAX = 80


class ReplyButton(
    ApproverButton,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"chatops:reply:(?P<ref>[nh]:\d{1,10}:.{1,80})",
):
    """Under a session's waiting or finished alert: opens the reply modal (approvers only)."""

    def __init__(self, reference: str, label: str = "Reply") -> None:
        super().__init__(
            discord.ui.Button(
                label=label[:BUTTON_LABEL_MAX],
                style=discord.ButtonStyle.primary,
                emoji="💬",
                custom_id=f"chatops:reply:{reference}",
            )
        )
        self.reference = reference

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> ReplyButton:
        return cls(match["ref"])

    async def pressed(self, interaction: discord.Interaction) -> None:
        replies = chatops_bot(interaction).services.replies
        agent = replies.agent_of(self.reference)
        replies.session(agent)  # a session that is over is refused now, not after the typing
        await interaction.response.send_modal(ReplyModal(agent))


class ReplyModal(discord.ui.Modal):
    words: discord.ui.TextInput[ReplyModal] = discord.ui.TextInput(
        label="Your words (the agent reads them as typed)",
        style=discord.TextStyle.paragraph,
        required=True,
        max_length=MAX_REPLY_CHARS,
    )

    def __init__(self, agent: str) -> None:
        super().__init__(title=f"Reply to {agent}"[:MODAL_TITLE_MAX], timeout=900)
        self.agent = agent

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Whoever submits must be an approver, whoever opened the modal."""
        if is_approver(chatops_bot(interaction), interaction.user):
            return True
        await interaction.response.send_message(APPROVER_REFUSAL, ephemeral=True)
        return False

    async def on_submit(self, interaction: discord.Interaction) -> None:
        outcome = chatops_bot(interaction).services.replies.reply(
            _who(interaction), self.agent, self.words.value, via="discord"
        )
        await interaction.response.send_message(
            _told(outcome, interaction.user), allowed_mentions=discord.AllowedMentions.none()
        )

    async def on_error(  # type: ignore[override]  # a Modal's on_error has no item
        self, interaction: discord.Interaction, error: Exception, /
    ) -> None:
        await report_error(interaction, error)


def _who(interaction: discord.Interaction) -> str:
    return f"{interaction.user} (discord {interaction.user.id})"


def _told(outcome: ReplyOutcome, user: discord.abc.User) -> str:
    """What the channel is told of a reply: who, to which session, whether it was taken; never
    the words (they may hold what the operator would not post)."""
    agent = discord_text(outcome.agent)
    if outcome.delivered:
        return f"💬 {user.mention} replied to **{agent}**; it goes on with the reply."
    return f"💬 {user.mention} replied to **{agent}**; kept until it next waits for a reply."


def reply_buttons(
    alerts: Sequence[Alert], pid_of: Callable[[str], int | None]
) -> list[ReplyButton]:
    """A Reply button under a session's waiting or finished alert (one per session in a
    group, up to a row, each named when there are several), tied to the session's process
    (``pid_of``) as the alert is posted: none for a session already gone."""
    sessions: list[tuple[str, int]] = []
    for alert in alerts:
        if alert.incident_kind not in SESSION_KINDS or alert.severity is Severity.RESOLVED:
            continue
        pid = pid_of(alert.subject)
        if pid is not None and (alert.subject, pid) not in sessions:
            sessions.append((alert.subject, pid))
    if len(sessions) == 1:
        return [ReplyButton(ReplyService.reference(*sessions[0]))]
    return [
        ReplyButton(ReplyService.reference(agent, pid), f"Reply to {agent}")
        for agent, pid in sessions[:BUTTONS_MAX]
    ]


class AgentsCog(commands.Cog):
    def __init__(self, bot: ChatOpsBot) -> None:
        self.bot = bot
        self._remove_buttons: Callable[[], None] | None = None

    agent = app_commands.Group(
        name="agent",
        description="Coding-agent sessions: answer one that waits or finished",
        default_permissions=discord.Permissions(manage_guild=True),
        guild_only=True,
    )

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(ReplyButton)
        if self.bot.alert_sink is not None:
            fleet = self.bot.services.fleet

            def pid_of(agent: str) -> int | None:
                bot = fleet.bots.get(agent)
                return None if bot is None else bot.pid

            self._remove_buttons = self.bot.alert_sink.add_buttons(
                lambda alerts: reply_buttons(alerts, pid_of)
            )

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(ReplyButton)
        if self._remove_buttons is not None:
            self._remove_buttons()
            self._remove_buttons = None

    @agent.command(name="reply", description="Send words to a coding-agent session")
    @app_commands.describe(
        name="the session's name", text="the words it goes on with (up to 4000 characters)"
    )
    @requires(is_approver, APPROVER_REFUSAL)
    async def reply(
        self,
        interaction: discord.Interaction,
        name: app_commands.Range[str, 1, 128],
        text: app_commands.Range[str, 1, MAX_REPLY_CHARS],
    ) -> None:
        outcome = self.bot.services.replies.reply(_who(interaction), name, text, via="discord")
        await interaction.response.send_message(
            _told(outcome, interaction.user), allowed_mentions=discord.AllowedMentions.none()
        )


async def setup(bot: ChatOpsBot) -> None:
    await bot.add_cog(AgentsCog(bot))
