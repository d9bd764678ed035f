"""The alert channel as a sink: alert groups posted as embeds, once, when Discord is there."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import discord

from chatops.alerts.render import discord_message
from chatops.alerts.sinks import DeliveryError
from chatops.records.alerts import Alert

ViewFor = Callable[[Sequence[Alert]], discord.ui.View | None]
"""Buttons to put under a group (the alerts cog attaches its Silence button)."""
Skip = Callable[[Alert], bool]
"""Alerts the channel does not repeat (the approvals cog posts its own prompts)."""


class DiscordChannelSink:
    """Delivers alert groups to the configured channel. Each message's nonce is the group id,
    with ``enforce_nonce``: a resend after a crash returns the message Discord already has
    instead of posting it twice."""

    name = "discord:alert_channel"

    def __init__(self, client: discord.Client, channel_id: int, role_id: int | None) -> None:
        self._client = client
        self._channel_id = channel_id
        self._role_id = role_id
        self.view_for: ViewFor | None = None
        self.skip: Skip | None = None

    @property
    def ready(self) -> bool:
        """Alerts wait in the outbox until the bot has logged in and connected."""
        return self._client.is_ready()

    async def send(self, alerts: Sequence[Alert], group_id: str) -> None:
        if self.skip is not None:
            alerts = [alert for alert in alerts if not self.skip(alert)]
            if not alerts:
                return  # delivered: the channel has it in another form
        body = discord_message(alerts, self._role_id)
        mentions = (
            discord.AllowedMentions(
                roles=[discord.Object(self._role_id)], everyone=False, users=False
            )
            if "content" in body and self._role_id is not None
            else discord.AllowedMentions.none()
        )
        channel = self._client.get_partial_messageable(self._channel_id)
        view = self.view_for(alerts) if self.view_for is not None else None
        embed = discord.Embed.from_dict(body["embeds"][0])
        try:
            if view is None:
                await channel.send(
                    content=body.get("content"),
                    embed=embed,
                    allowed_mentions=mentions,
                    nonce=group_id,
                )
            else:
                await channel.send(
                    content=body.get("content"),
                    embed=embed,
                    allowed_mentions=mentions,
                    view=view,
                    nonce=group_id,
                )
        except (discord.Forbidden, discord.NotFound) as exc:
            raise DeliveryError(f"alert channel refused: {exc}", permanent=True) from exc
        except (discord.HTTPException, OSError) as exc:
            raise DeliveryError(f"Discord: {exc}") from exc
