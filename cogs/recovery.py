"""Recovery from Discord: ``/recover restart|reset-status|cleanup`` (admins, after a
confirmation), ``/diagnostics`` (a line per check with ✅ ⚠️ ❌ and latencies), ``/health`` and
``/metrics`` (the host and the controller, with a chart of the controller's CPU and RSS over
the last hour). The cog also gives the diagnostics their Discord check: the gateway's latency
and a REST round trip."""

from __future__ import annotations

import asyncio
import io
import math
import time
from collections.abc import Callable

import discord
from discord import app_commands
from discord.ext import commands

from chatops.discord.bot import ChatOpsBot
from chatops.discord.errors import refusal_text
from chatops.presentation import recovery as recovery_text
from chatops.presentation.charts import resource_chart
from chatops.presentation.formatting import discord_text, plural
from chatops.presentation.markup import DISCORD
from chatops.services.errors import DomainError
from chatops.services.recovery.cleanup import CleanupReport
from chatops.services.recovery.probes import Check, assess
from cogs.ui.autocomplete import bot_name_autocomplete
from cogs.ui.checks import admin_only
from cogs.ui.embeds import GREEN, RED, YELLOW, code_block
from cogs.ui.views import ask_to_confirm

ICON = {"ok": "✅", "warning": "⚠️", "failing": "❌"}
COLOUR = {"ok": GREEN, "degraded": YELLOW, "failing": RED}


def check_line(check: Check) -> str:
    latency = f" · {check.latency_ms:.1f} ms" if check.latency_ms is not None else ""
    name, detail = discord_text(check.name), discord_text(check.detail)
    return f"{ICON[check.status]} **{name}**{latency} · {detail}"


class RecoveryCog(commands.Cog):
    def __init__(self, bot: ChatOpsBot) -> None:
        self.bot = bot
        self._remove_probe: Callable[[], None] = _nothing

    recover = app_commands.Group(
        name="recover",
        description="Restart bots, reset statuses, clean up stale resources",
        default_permissions=discord.Permissions(manage_guild=True),
        guild_only=True,
    )

    async def cog_load(self) -> None:
        self._remove_probe = self.bot.services.diagnostics.add_probe("discord", self.probe)

    async def cog_unload(self) -> None:
        self._remove_probe()

    async def probe(self) -> Check:
        """Gateway heartbeat latency and one REST round trip."""
        if not self.bot.is_ready():
            return Check("discord", "failing", None, "not connected to the gateway")
        started = time.perf_counter()
        try:
            await self.bot.application_info()
        except (discord.HTTPException, OSError) as exc:
            return Check("discord", "failing", None, f"REST: {type(exc).__name__}")
        rest_ms = (time.perf_counter() - started) * 1000
        gateway = self.bot.latency
        gateway_text = (
            "gateway latency unknown"
            if math.isinf(gateway)
            else (f"gateway {gateway * 1000:.0f} ms")
        )
        return Check("discord", "ok", rest_ms, f"{gateway_text}, REST round trip {rest_ms:.0f} ms")

    # -- /recover --------------------------------------------------------------------------------

    @recover.command(name="restart", description="Restart a bot (asks first)")
    @app_commands.describe(bot="the bot")
    @app_commands.autocomplete(bot=bot_name_autocomplete)
    @admin_only()
    async def restart(self, interaction: discord.Interaction, bot: str) -> None:
        services = self.bot.services
        services.restarts.require_known(bot)  # refused before the confirmation, not after it
        confirmed = await ask_to_confirm(
            interaction,
            f"Restart **{discord_text(bot)}**? It is asked over its connection first, then its "
            "restart_command, then SIGTERM.",
            timeout=self.bot.settings.discord.confirm_timeout,
            confirm_label="Restart",
        )
        if not confirmed:
            await interaction.edit_original_response(content="Not restarted.")
            return
        await interaction.edit_original_response(content=f"🔄 Restarting **{discord_text(bot)}**…")
        try:
            report = await services.restarts.restart(bot, by=str(interaction.user))
        except DomainError as exc:  # gone since it was confirmed
            await interaction.edit_original_response(content=refusal_text(exc))
            return
        icon = "✅" if report.restarted else "❌"
        # The service's own words (outcome, how, why), as ``chatops restart`` prints them.
        text = f"{icon} **{discord_text(bot)}**: {discord_text(report.summary)}"
        if report.output:
            text += "\n" + code_block(report.output, limit=1200)
        await interaction.edit_original_response(content=text[:2000])

    @recover.command(name="reset-status", description="Rebuild the fleet's statuses")
    @admin_only()
    async def reset_status(self, interaction: discord.Interaction) -> None:
        confirmed = await ask_to_confirm(
            interaction,
            "Drop the statuses in memory, ask every connected bot to register again and read "
            "the rest from the database?",
            timeout=self.bot.settings.discord.confirm_timeout,
            confirm_label="Reset",
        )
        if not confirmed:
            await interaction.edit_original_response(content="Nothing changed.")
            return
        result = await self.bot.services.fleet.reset_statuses()
        await interaction.edit_original_response(
            content="🔁 " + recovery_text.reset_text(result.reloaded, result.asked_to_register)
        )

    @recover.command(name="cleanup", description="Show stale resources, then remove them")
    @admin_only()
    async def cleanup(self, interaction: discord.Interaction) -> None:
        cleanup = self.bot.services.cleanup
        plan = await cleanup.plan()
        confirmed = await ask_to_confirm(
            interaction,
            "**Stale resources**\n" + _cleanup_text(plan.report(dry_run=True)),
            timeout=self.bot.settings.discord.confirm_timeout,
            confirm_label="Clean up",
        )
        if not confirmed:
            await interaction.edit_original_response(content="Nothing removed.")
            return
        done = await cleanup.execute(plan)  # exactly what was shown
        await interaction.edit_original_response(content="🧹 Done.\n" + _cleanup_text(done))

    # -- reads -----------------------------------------------------------------------------------

    @app_commands.command(name="diagnostics", description="Every check, with latencies")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def diagnostics(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        checks = await self.bot.services.diagnostics.run_diagnostics()
        summary = assess(checks)
        embed = discord.Embed(
            title=f"Diagnostics · {summary.status}",
            description="\n".join(check_line(c) for c in checks)[:4000],
            colour=COLOUR[summary.status],
        )
        await interaction.followup.send(embed=embed)

    @app_commands.command(name="health", description="ok, degraded or failing, and why")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def health(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        health = await self.bot.services.diagnostics.health()
        reasons = "\n".join(f"• {discord_text(r)}" for r in health.reasons) or "all checks pass"
        embed = discord.Embed(
            title=f"{ICON.get(health.status, '⚠️')} Health: {health.status}",
            description=reasons[:4000],
            colour=COLOUR[health.status],
        )
        await interaction.followup.send(embed=embed)

    @app_commands.command(name="metrics", description="The host and the controller, last hour")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def metrics(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        diagnostics = self.bot.services.diagnostics
        metrics = diagnostics.system_metrics()
        host, own = metrics.host, metrics.controller
        embed = discord.Embed(title="System metrics", colour=GREEN)
        embed.add_field(
            name="Host",
            value=f"CPU {host.cpu_pct:.0f}% of {host.cpu_count} · memory "
            f"{host.memory_pct:.0f}% · disk {host.disk_pct:.0f}% "
            f"({host.disk_free_mb:,.0f} MB free) · load " + " ".join(f"{x:.2f}" for x in host.load),
            inline=False,
        )
        embed.add_field(
            name="Controller",
            value=f"pid {own.pid} · RSS {own.rss_mb:.0f} MB · CPU {own.cpu_pct:.1f}% · "
            f"{plural(own.open_files, 'open file')} · "
            f"{plural(own.connections, 'connection')} · store "
            f"backlog {own.store_backlog} · {plural(own.bots, 'bot')}",
            inline=False,
        )
        files = []
        series = await diagnostics.controller_series(1.0)
        if len(series) >= 2:
            png = await asyncio.to_thread(resource_chart, "controller, last hour", series)
            files.append(discord.File(io.BytesIO(png), filename="controller.png"))
            embed.set_image(url="attachment://controller.png")
        await interaction.followup.send(embed=embed, files=files)


def _nothing() -> None:
    return None


def _cleanup_text(report: CleanupReport) -> str:
    return recovery_text.cleanup_text(
        report.stale_bots,
        report.dead_sockets,
        report.orphan_cache_folders,
        report.vacuum,
        DISCORD,
    )


async def setup(bot: ChatOpsBot) -> None:
    await bot.add_cog(RecoveryCog(bot))
