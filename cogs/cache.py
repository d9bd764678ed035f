"""``/cache``: the agents' task cache from Discord. ``stats``, ``list`` and ``preview`` read it;
``delete``, ``clean``, ``clear`` and ``autoclean`` change it (admins), each destructive one
after a confirmation that shows exactly what would go, and executes exactly that."""

from __future__ import annotations

from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from chatops.discord.bot import ChatOpsBot
from chatops.presentation import cache as cache_text
from chatops.presentation.formatting import (
    discord_text,
    noun,
    plural,
    progress_bar,
    size_text,
)
from chatops.presentation.markup import DISCORD
from chatops.records.cache import CacheEntry, CleanPlan, CleanResult
from chatops.services.cache.errors import CacheError
from chatops.services.cache.manager import CacheManager
from chatops.services.cache.plan import MB
from cogs.ui.autocomplete import name_choices
from cogs.ui.checks import admin_only, chatops_bot
from cogs.ui.embeds import GREEN, ORANGE, RED, YELLOW, code_block, relative
from cogs.ui.views import ask_to_confirm, confirm_in_followup, send_pages

_LINES_PER_PAGE = 15


def entry_line(entry: CacheEntry, running: bool) -> str:
    state = "🟢 running" if running else "finished" if entry.finished else "⚪ abandoned"
    agent = f" · {discord_text(entry.agent)}" if entry.agent else ""
    return (
        f"`{entry.task_id}` · {discord_text(entry.agent_type)}{agent} · {size_text(entry.size)}"
        f" · {plural(entry.files, 'file')} · {relative(entry.created_at)} · {state}"
    )


def plan_text(plan: CleanPlan, now: float) -> str:
    return cache_text.plan_text(plan, now, DISCORD)


def result_text(result: CleanResult, total: int) -> str:
    done = cache_text.result_text(len(result.removed), result.freed, total, result.skipped, DISCORD)
    return f"🧹 {done}"[:2000]


async def task_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    cache = chatops_bot(interaction).services.cache
    return name_choices([e.task_id for e in cache.get_cache_entries()], current)


class CacheCog(commands.Cog):
    def __init__(self, bot: ChatOpsBot) -> None:
        self.bot = bot

    cache_group = app_commands.Group(
        name="cache",
        description="The agents' task cache",
        default_permissions=discord.Permissions(manage_guild=True),
        guild_only=True,
    )

    @property
    def cache(self) -> CacheManager:
        return self.bot.services.cache

    @cache_group.command(name="stats", description="Size against the threshold, by agent type")
    async def stats(self, interaction: discord.Interaction) -> None:
        stats = self.cache.statistics()
        threshold = stats.auto_clean_threshold_mb
        fraction = stats.total_size / (threshold * MB)
        colour = RED if fraction > 1 else ORANGE if fraction > 0.8 else GREEN
        embed = discord.Embed(
            title="Cache",
            colour=colour,
            description=f"{progress_bar(fraction)} of the {threshold:g} MB threshold\n"
            f"**{size_text(stats.total_size)}** in **{stats.count}** "
            f"{noun(stats.count, 'entry')} · "
            f"auto-clean **{'on' if stats.auto_clean_enabled else 'off'}**",
        )
        by_type = stats.by_agent_type
        embed.add_field(
            name="By agent type",
            value="\n".join(
                f"{discord_text(kind)}: {v.count} · {size_text(v.size)}"
                for kind, v in by_type.items()
            )[:1024]
            or "empty",
        )
        for brief, label in (
            (stats.oldest, "Oldest"),
            (stats.largest, "Largest"),
            (stats.newest, "Newest"),
        ):
            if brief is not None:
                embed.add_field(
                    name=label,
                    value=f"`{brief.task_id}` · {size_text(brief.size)} · "
                    f"{relative(brief.created_at)}",
                )
        await interaction.response.send_message(embed=embed)

    @cache_group.command(name="list", description="Every entry, newest first")
    async def list_entries(self, interaction: discord.Interaction) -> None:
        entries = self.cache.get_cache_entries()
        lines = [entry_line(e, self.cache.running(e)) for e in entries] or ["The cache is empty."]
        pages = []
        count = max(1, -(-len(lines) // _LINES_PER_PAGE))
        for start in range(0, len(lines), _LINES_PER_PAGE):
            embed = discord.Embed(
                title="Cache entries",
                description="\n".join(lines[start : start + _LINES_PER_PAGE])[:4000],
                colour=YELLOW,
            )
            embed.set_footer(
                text=f"Page {start // _LINES_PER_PAGE + 1}/{count}"
                f" · {plural(len(entries), 'entry')} · {size_text(self.cache.total)}"
            )
            pages.append(embed)
        await send_pages(interaction, pages)

    @cache_group.command(name="preview", description="An entry's files and first lines")
    @app_commands.describe(task="the task id")
    @app_commands.autocomplete(task=task_autocomplete)
    async def preview(self, interaction: discord.Interaction, task: str) -> None:
        try:
            found = await self.cache.preview_cache_entry(task)
        except CacheError as exc:
            await interaction.response.send_message(discord_text(str(exc)), ephemeral=True)
            return
        entry = found.entry
        embed = discord.Embed(
            title=f"Cache entry {entry.task_id}"[:256],
            description=(discord_text(entry.preview) or "no preview text")[:1000],
            colour=YELLOW,
        )
        state = "running" if found.running else "finished" if entry.finished else "idle"
        embed.add_field(
            name="Entry",
            value=f"{discord_text(entry.agent_type)} · {size_text(entry.size)} · "
            f"{plural(entry.files, 'file')} · {relative(entry.created_at)} · {state}",
            inline=False,
        )
        for item in found.files[:8]:
            head = item.first_lines
            value = "binary" if head is None else code_block("\n".join(head) or " ", limit=500)
            embed.add_field(
                name=f"{item.name} · {size_text(item.size)}"[:256],
                value=value,
                inline=False,
            )
        if len(found.files) > 8:
            rest = ", ".join(discord_text(f.name) for f in found.files[8:30])
            embed.add_field(name="More files", value=rest[:1024], inline=False)
        await interaction.response.send_message(embed=embed)

    @cache_group.command(name="delete", description="Delete one entry (asks first)")
    @app_commands.describe(task="the task id", force="also when its task is still running")
    @app_commands.autocomplete(task=task_autocomplete)
    @admin_only()
    async def delete(
        self, interaction: discord.Interaction, task: str, force: bool = False
    ) -> None:
        try:
            plan = self.cache.plan_delete(task, force=force)
        except CacheError as exc:
            await interaction.response.send_message(discord_text(str(exc)), ephemeral=True)
            return
        await self._confirm_and_run(interaction, plan, "Delete", force=force)

    @cache_group.command(name="clean", description="Show what a clean removes, then do it")
    @admin_only()
    async def clean(self, interaction: discord.Interaction) -> None:
        await self._confirm_and_run(interaction, self.cache.plan_clean(), "Clean")

    @cache_group.command(name="clear", description="Delete every entry that is not running")
    @admin_only()
    async def clear(self, interaction: discord.Interaction) -> None:
        plan = self.cache.plan_clear()
        if not plan.items:
            await interaction.response.send_message(plan_text(plan, self._now()), ephemeral=True)
            return
        first = await ask_to_confirm(
            interaction,
            f"**Clear the cache?**\n{plan_text(plan, self._now())}",
            timeout=self.bot.settings.discord.confirm_timeout,
            confirm_label="Clear",
        )
        if not first:
            await interaction.edit_original_response(content=_cancelled(first), view=None)
            return
        second = await confirm_in_followup(
            interaction,
            f"Really delete **{size_text(plan.size)}** in {plural(len(plan.items), 'entry')}? "
            "This cannot be undone.",
            timeout=self.bot.settings.discord.confirm_timeout,
            confirm_label=f"Delete {size_text(plan.size)}",
        )
        if not second:
            await interaction.followup.send(_cancelled(second), ephemeral=True)
            return
        result = await self.cache.execute(plan)
        await interaction.followup.send(result_text(result, self.cache.total))

    @cache_group.command(name="autoclean", description="Turn the scheduled auto-clean on or off")
    @admin_only()
    async def autoclean(
        self, interaction: discord.Interaction, state: Literal["on", "off"]
    ) -> None:
        self.cache.set_auto_clean(state == "on")
        await interaction.response.send_message(
            f"Cache auto-clean is **{state}** (changed by {interaction.user.mention}).",
            allowed_mentions=discord.AllowedMentions.none(),
        )

    async def _confirm_and_run(
        self, interaction: discord.Interaction, plan: CleanPlan, verb: str, *, force: bool = False
    ) -> None:
        text = plan_text(plan, self._now())
        if not plan.items:
            await interaction.response.send_message(text, ephemeral=True)
            return
        confirmed = await ask_to_confirm(
            interaction,
            f"**{verb}?**\n{text}",
            timeout=self.bot.settings.discord.confirm_timeout,
            confirm_label=verb,
        )
        if not confirmed:
            await interaction.edit_original_response(content=_cancelled(confirmed))
            return
        result = await self.cache.execute(plan, force=force)
        await interaction.edit_original_response(content=result_text(result, self.cache.total))

    def _now(self) -> float:
        return self.bot.services.clock()


def _cancelled(answer: bool | None) -> str:
    return (
        "Cancelled; nothing was deleted." if answer is False else "No answer; nothing was deleted."
    )


async def setup(bot: ChatOpsBot) -> None:
    await bot.add_cog(CacheCog(bot))
