"""The Discord front end: ``ChatOpsBot`` hosts the controller in its own event loop.

Monitoring never waits for Discord: :func:`run_bot` starts the controller (store, services,
monitor server, scheduler, webhook alerts) before the first login attempt, and keeps it running
while the login is retried. ``setup_hook`` then only loads the cogs, registers the persistent
views and syncs the command tree if it changed. Channel alerts wait in the outbox until the bot
is ready and are delivered then. ``close`` stops all of it in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import signal
from pathlib import Path

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.ext import commands

from chatops.api.door import SocketDoor
from chatops.composition.controller import Controller
from chatops.composition.services import Services
from chatops.config import DiscordConfig, Settings
from chatops.discord.errors import report_error
from chatops.discord.sink import DiscordChannelSink
from chatops.nats import hub_options
from chatops.timeutil import Clock, wall_clock
from chatops.web.door import HttpDoor

log = logging.getLogger(__name__)

EXTENSIONS = (
    "cogs.status",
    "cogs.alerts",
    "cogs.quotas",
    "cogs.approvals",
    "cogs.agents",
    "cogs.autoaccept",
    "cogs.cache",
    "cogs.recovery",
    "cogs.web",
    "cogs.admin",
)


class ChatOpsBot(commands.Bot):
    def __init__(self, settings: Settings, *, clock: Clock = wall_clock) -> None:
        """``clock``: the controller's (a test's injected clock; discord.py keeps its own)."""
        intents = discord.Intents.none()
        intents.guilds = True  # channels and roles; no privileged intent is needed
        # Nothing chatops sends mentions anyone unless a message says so explicitly (the alert
        # role on problem alerts): a bot's name can never ping @everyone, a role or a user.
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        self.settings = settings
        cfg = settings.discord
        self.alert_sink: DiscordChannelSink | None = (
            DiscordChannelSink(self, cfg.alert_channel_id, cfg.alert_role_id)
            if cfg.alert_channel_id is not None
            else None
        )
        sinks = [self.alert_sink] if self.alert_sink else []
        self.controller = Controller(
            settings,
            socket_door=SocketDoor,
            http_door=HttpDoor,
            sinks=sinks,
            clock=clock,
            **hub_options(settings),
        )
        self.tree.error(self.on_app_command_error)

    # -- lifecycle -------------------------------------------------------------------------------

    async def setup_hook(self) -> None:
        if not self.controller.running:
            await self.controller.start()  # a caller that logs in directly (tests)
        for extension in EXTENSIONS:
            await self.load_extension(extension)  # each cog registers its own buttons
        await self.sync_commands(force=False)

    @property
    def services(self) -> Services:
        """What the cogs use: the controller's services, never the store."""
        return self.controller.services

    async def on_ready(self) -> None:
        self._deliver_held_alerts()

    async def on_resumed(self) -> None:
        self._deliver_held_alerts()

    def _deliver_held_alerts(self) -> None:
        """Channel alerts raised while Discord was away wait in the outbox: send them now."""
        if self.controller.running:
            self.controller.services.delivery.kick()

    async def close(self) -> None:
        for extension in reversed(list(self.extensions)):
            await self.unload_extension(extension)
        await self.controller.stop()
        await super().close()

    # -- permissions -----------------------------------------------------------------------------

    def is_admin(self, user: discord.abc.User) -> bool:
        """Config decides: an admin user id, or a member holding an admin role. Deny otherwise."""
        cfg = self.settings.discord
        return _listed(user, cfg.admin_user_ids, cfg.admin_role_ids)

    def is_approver(self, user: discord.abc.User) -> bool:
        """The configured approvers (``approvals.approver_*``); the admins when none are."""
        cfg = self.settings.approvals
        if not cfg.approver_user_ids and not cfg.approver_role_ids:
            return self.is_admin(user)
        return _listed(user, cfg.approver_user_ids, cfg.approver_role_ids)

    # -- errors ----------------------------------------------------------------------------------

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await report_error(interaction, error)

    # -- command sync ----------------------------------------------------------------------------

    def command_hash(self) -> str:
        commands_json = sorted(
            (command.to_dict(self.tree) for command in self.tree.get_commands()),
            key=lambda c: str(c["name"]),
        )
        material = json.dumps(
            {"commands": commands_json, "guilds": sorted(self.settings.discord.guild_ids)},
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(material.encode()).hexdigest()

    async def sync_commands(self, *, force: bool) -> bool:
        """Sync to the configured guilds (or globally) when the tree changed, or when forced."""
        path = self.settings.discord.command_hash_path
        current = self.command_hash()
        try:
            previous = path.read_text().strip()
        except OSError:
            previous = ""
        if previous == current and not force:
            log.info("slash commands unchanged; not syncing")
            return False
        guild_ids = self.settings.discord.guild_ids
        if guild_ids:
            for guild_id in guild_ids:
                guild = discord.Object(guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()
        _atomic_write(path, current)
        log.info("slash commands synced to %s", guild_ids or "all guilds (global)")
        return True


def _listed(user: discord.abc.User, user_ids: list[int], role_ids: list[int]) -> bool:
    if user.id in user_ids:
        return True
    return any(role.id in role_ids for role in getattr(user, "roles", []))


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def configure_endpoints(cfg: DiscordConfig) -> None:
    """Point discord.py at the configured REST base and gateway (a proxy, or the test fake)."""
    discord.http.Route.BASE = cfg.api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(cfg.gateway_url)


class TokenRejected(Exception):
    """Discord refused the configured token: a configuration error, not an outage."""


LOGIN_RETRY_MAX = 60.0


async def run_bot(settings: Settings) -> None:
    """Start monitoring, then log in (retrying while Discord is unreachable) and run until
    SIGTERM/SIGINT, which stops everything cleanly at any point, login retries included."""
    assert settings.discord.token is not None
    token = settings.discord.token.get_secret_value()
    configure_endpoints(settings.discord)
    bot = ChatOpsBot(settings)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await bot.controller.start()
    log.info(
        "monitoring on %s (database %s); logging in to Discord",
        settings.monitoring.socket_path,
        settings.monitoring.database_path,
    )
    async with bot:  # its close() stops the controller too, whatever happens below
        delay = 1.0
        while True:
            try:
                await bot.login(token)
                break
            except discord.LoginFailure as exc:
                raise TokenRejected("Discord rejected discord.token (check the bot token)") from exc
            except (aiohttp.ClientError, OSError, discord.HTTPException) as exc:
                log.warning(
                    "Discord unreachable at login (%s); retrying in %.0fs",
                    type(exc).__name__,
                    delay,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                if stop.is_set():
                    return
                delay = min(LOGIN_RETRY_MAX, delay * 2)
        runner = loop.create_task(bot.connect(reconnect=True))
        stopper = loop.create_task(stop.wait())
        await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        await bot.close()
        await asyncio.gather(runner, return_exceptions=True)
