"""Approval prompts: a request the policy sends to a human is posted in the approval channel
with **Approve**, **Deny** (a modal takes the reason the agent gets back), **Edit and approve**
(a modal prefilled with the command or the new text; the service re-judges the edit and the
agent acts on it), **Approve for this agent (N min)** and **Always allow** (the last two
admin-only). A prompt for an edit or a write over an existing file shows its diff. The buttons
are ``DynamicItem``s that carry the request id, so a prompt keeps working after a controller
restart; the message is edited to show who decided, when and how long it took, or that it
timed out or was cancelled.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

import discord
from discord.ext import commands

from chatops.discord.bot import ChatOpsBot
from chatops.discord.errors import refusal_text
from chatops.presentation.approvals import STATE_EMOJI, outcome_line
from chatops.presentation.formatting import discord_text
from chatops.records.approvals import ApprovalRecord
from chatops.runtime.tasks import TaskSet
from chatops.services.approvals.edits import main_field
from chatops.services.approvals.events import ApprovalRequested, ApprovalUpdated
from chatops.services.approvals.granting import GrantLength
from chatops.services.approvals.service import ApprovalService
from chatops.services.errors import DomainError
from cogs.ui.approval_modals import DenyReason, EditAndApprove
from cogs.ui.buttons import ApproverButton
from cogs.ui.checks import ADMIN_REFUSAL, chatops_bot, is_admin
from cogs.ui.embeds import GREEN, GREY, RED, YELLOW, code_block, diff_block, relative

log = logging.getLogger(__name__)

ACTIONS = ("approve", "edit", "deny", "session", "always")

GRANTS: dict[str, GrantLength] = {"session": "session", "always": "always"}


def prompt_embed(record: ApprovalRecord) -> discord.Embed:
    colour = (
        YELLOW
        if record.pending
        else GREEN
        if record.approved
        else RED
        if record.state == "denied"
        else GREY
    )
    embed = discord.Embed(
        title=f"{STATE_EMOJI.get(record.state, '•')} Approval #{record.id} · {record.action_type}",
        description=f"**{discord_text(record.agent)}** asks:\n{code_block(record.summary)}",
        colour=colour,
    )
    if record.diff:
        embed.add_field(name="Diff", value=diff_block(record.diff, limit=1024), inline=False)
    elif record.preview:
        embed.add_field(name="Preview", value=code_block(record.preview, limit=1000), inline=False)
    embed.add_field(
        name="Why it asks",
        value=f"{discord_text(record.reason)[:900]} (rule `{record.rule}`)",
        inline=False,
    )
    if record.pending and record.expires_at is not None:
        embed.add_field(name="Expires", value=relative(record.expires_at))
    if record.approvals_required > 1:
        embed.add_field(
            name="Approvals", value=f"{len(record.approvers)}/{record.approvals_required}"
        )
    if not record.pending:
        when = f" · {relative(record.decided_at)}" if record.decided_at else ""
        outcome = discord_text(outcome_line(record)) + when
        if record.state == "denied" and record.decision_reason:
            outcome += f"\nReason: {discord_text(record.decision_reason)[:500]}"
        embed.add_field(name="Outcome", value=outcome[:1024], inline=False)
    if record.edited_data is not None:
        embed.add_field(name="Approved as", value=_edited_value(record), inline=False)
    embed.set_footer(text=f"request {record.id} · asked")
    embed.timestamp = datetime.fromtimestamp(record.requested_at, UTC)
    return embed


def _edited_value(record: ApprovalRecord) -> str:
    """The edited main field (or the whole edited data) and the comment, masked as stored."""
    edited = record.edited_data or {}
    name = main_field(edited)
    text = str(edited[name]) if name is not None else json.dumps(edited, ensure_ascii=False)
    note = f"\nComment: {discord_text(record.edit_comment)[:200]}" if record.edit_comment else ""
    return code_block(text, limit=1000 - len(note)) + note


class ApprovalButton(
    ApproverButton,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"chatops:approval:(?P<id>\d{1,18}):(?P<action>approve|edit|deny|session|always)",
):
    """One of a prompt's buttons. Approve and Deny are for approvers; the grants (for this
    agent for a while, always) are for admins, since they answer future requests too."""

    def __init__(self, request_id: int, action: str, *, label: str, disabled: bool) -> None:
        styles = {
            "approve": discord.ButtonStyle.success,
            "deny": discord.ButtonStyle.danger,
        }
        super().__init__(
            discord.ui.Button(
                label=label,
                style=styles.get(action, discord.ButtonStyle.secondary),
                custom_id=f"chatops:approval:{request_id}:{action}",
                disabled=disabled,
            )
        )
        self.request_id = request_id
        self.action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> ApprovalButton:
        return cls(int(match["id"]), match["action"], label=match["action"], disabled=False)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Grants answer future requests too: admins only (who can change the rules anyway),
        whether or not they are listed as approvers."""
        if self.action not in GRANTS:
            return await super().interaction_check(interaction)
        if is_admin(chatops_bot(interaction), interaction.user):
            return True
        await interaction.response.send_message(ADMIN_REFUSAL, ephemeral=True)
        return False

    async def pressed(self, interaction: discord.Interaction) -> None:
        cog = chatops_bot(interaction).get_cog(ApprovalsCog.__cog_name__)
        assert isinstance(cog, ApprovalsCog)
        if self.action == "deny":
            await interaction.response.send_modal(DenyReason(cog, self.request_id))
            return
        if self.action == "edit":
            await cog.open_editor(interaction, self.request_id)
            return
        grant = GRANTS.get(self.action)
        await cog.answer(interaction, self.request_id, approve=True, grant=grant)


def prompt_view(record: ApprovalRecord, service: ApprovalService) -> discord.ui.View:
    """The four buttons, disabled once decided; the grant buttons only where the service
    offers grants."""
    view = discord.ui.View(timeout=None)
    labels = {
        "approve": "Approve",
        "deny": "Deny",
        "session": f"Approve for this agent ({service.config.session_minutes:g} min)",
        "always": "Always allow",
        "edit": "Edit and approve",
    }
    offered = service.granting.grants_offered(record)
    editable = service.editing.refusal(record) is None and service.editing.prefill(record)
    for action in ACTIONS:
        if (action in GRANTS and not offered) or (action == "edit" and not editable):
            continue
        view.add_item(
            ApprovalButton(record.id, action, label=labels[action], disabled=not record.pending)
        )
    return view


class ApprovalsCog(commands.Cog):
    def __init__(self, bot: ChatOpsBot) -> None:
        self.bot = bot
        self._tasks = TaskSet()
        self._answering: set[int] = set()
        self._unsubscribe: list[Any] = []
        cfg = bot.settings.discord
        self.channel_id = cfg.approval_channel_id or cfg.alert_channel_id

    @property
    def service(self) -> ApprovalService:
        return self.bot.services.approvals

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(ApprovalButton)
        bus = self.bot.services.bus
        self._unsubscribe = [
            bus.subscribe(ApprovalRequested, self._requested),
            bus.subscribe(ApprovalUpdated, self._updated),
        ]
        if self.bot.is_ready():
            self._catch_up()

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(ApprovalButton)
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        await self._tasks.cancel()

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        self._catch_up()

    def _catch_up(self) -> None:
        """Prompts that could not be posted (Discord away) and prompts to close after a
        restart (a request that timed out or was denied while nobody could edit it)."""
        for record in self.service.pending():
            if record.message_id is None:
                self._requested(ApprovalRequested(record))
        for record in self.service.prompts_to_close():
            self._updated(ApprovalUpdated(record))

    # -- bus -> Discord --------------------------------------------------------------------------

    def _requested(self, event: ApprovalRequested) -> None:
        if self.channel_id is not None and self.bot.is_ready():
            self._tasks.spawn(self._post(event.record), name=f"approval-prompt:{event.record.id}")

    def _updated(self, event: ApprovalUpdated) -> None:
        record = event.record
        if record.id in self._answering or record.message_id is None or not self.bot.is_ready():
            return  # the click that decided edits the prompt itself
        self._tasks.spawn(self._edit(record), name=f"approval-edit:{record.id}")

    async def _post(self, record: ApprovalRecord) -> None:
        assert self.channel_id is not None
        channel = self.bot.get_partial_messageable(self.channel_id)
        try:
            message = await channel.send(
                embed=prompt_embed(record),
                view=prompt_view(record, self.service),
                nonce=f"approval-{record.id}",
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except discord.HTTPException as exc:
            log.warning("could not post approval prompt #%d: %s", record.id, exc)
            return
        self.service.prompt_posted(record.id, channel.id, message.id)
        if not record.pending:
            await self._edit(record)  # decided while it was being posted

    async def _edit(self, record: ApprovalRecord) -> None:
        if record.message_id is None or record.message_channel_id is None:
            return
        channel = self.bot.get_partial_messageable(record.message_channel_id)
        message = channel.get_partial_message(record.message_id)
        with contextlib.suppress(discord.NotFound):
            await message.edit(
                embed=prompt_embed(record),
                view=prompt_view(record, self.service),
            )
        if not record.pending:
            self.service.prompt_closed(record.id)

    # -- Discord -> service ----------------------------------------------------------------------

    async def answer(
        self,
        interaction: discord.Interaction,
        request_id: int,
        *,
        approve: bool,
        reason: str | None = None,
        grant: GrantLength | None = None,
    ) -> None:
        """One click (or modal): decide, grant if asked, and edit the prompt in the same
        response. Clicks are handled one at a time on the loop: the first wins."""
        user = interaction.user
        self._answering.add(request_id)
        try:
            if grant is None:
                record = self.service.decide(
                    request_id,
                    approve,
                    by=str(user),
                    identity=str(user.id),
                    via="discord",
                    reason=reason,
                )
            else:
                record, _ = self.service.granting.approve_and_grant(
                    request_id, grant, by=str(user), identity=str(user.id), via="discord"
                )
        except DomainError as exc:
            await interaction.response.send_message(refusal_text(exc), ephemeral=True)
            return
        finally:
            self._answering.discard(request_id)
        await interaction.response.edit_message(
            embed=prompt_embed(record),
            view=prompt_view(record, self.service),
        )
        if not record.pending:
            self.service.prompt_closed(record.id)

    async def open_editor(self, interaction: discord.Interaction, request_id: int) -> None:
        """The *Edit and approve* modal, prefilled; or why the request cannot be edited."""
        record = self.service.records.get(request_id)
        prefill = None if record is None else self.service.editing.prefill(record)
        refusal = None if record is None else self.service.editing.refusal(record)
        if record is None or not record.pending or prefill is None or refusal is not None:
            why = refusal or f"request #{request_id} has nothing to edit or is no longer open"
            await interaction.response.send_message(why, ephemeral=True)
            return
        await interaction.response.send_modal(EditAndApprove(self, request_id, *prefill))

    async def answer_edited(
        self,
        interaction: discord.Interaction,
        request_id: int,
        changes: dict[str, Any],
        comment: str | None,
    ) -> None:
        """The modal's edit: judged by the service (a deny is refused, ephemerally, and the
        request stays pending), else approved and the prompt edited in the same response."""
        user = interaction.user
        self._answering.add(request_id)
        try:
            record = await self.service.editing.approve_edited(
                request_id,
                changes,
                by=str(user),
                identity=str(user.id),
                via="discord",
                comment=comment or None,
            )
        except DomainError as exc:
            await interaction.response.send_message(refusal_text(exc), ephemeral=True)
            decided = self.service.records.get(request_id)
            if decided is not None and not decided.pending:  # decided elsewhere meanwhile
                self._tasks.spawn(self._edit(decided), name=f"approval-edit:{request_id}")
            return
        finally:
            self._answering.discard(request_id)
        await interaction.response.edit_message(
            embed=prompt_embed(record), view=prompt_view(record, self.service)
        )
        if not record.pending:
            self.service.prompt_closed(record.id)


async def setup(bot: ChatOpsBot) -> None:
    await bot.add_cog(ApprovalsCog(bot))
