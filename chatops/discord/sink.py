"""The alert channel as a sink: alert groups posted as embeds, once, when Discord is there; a
storm as one summary with every alert in an attached CSV file."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

import discord

from chatops.alerts.render import GROUP_MAX, discord_message
from chatops.alerts.sinks import DeliveryError, SinkKind
from chatops.alerts.storms import storm_csv, storm_filename, storm_message
from chatops.records.alerts import Alert

ButtonsFor = Callable[[Sequence[Alert]], Sequence[discord.ui.Item[Any]]]
"""A cog's buttons for a group (the alerts cog's Silence button), none when it has none."""


class DiscordChannelSink:
    """Delivers alert groups to the configured channel. Each message's nonce is the group id,
    with ``enforce_nonce``: a resend after a crash returns the message Discord already has
    instead of posting it twice."""

    name = "discord:alert_channel"
    kind = SinkKind.CHANNEL
    pace = 1.0
    """Discord lets a channel take 5 messages per 5 s: a burst spent one alert per message in
    its first second would leave the rest waiting for the bucket to refill, so within a burst
    the channel gets a message a second, each naming everything that arrived meanwhile."""
    storms = True
    """More alerts at once than ``alerts.storm_threshold`` are one summary message, not a
    message per 20 queued behind the rate limit (:mod:`chatops.alerts.storms`)."""

    def __init__(self, client: discord.Client, channel_id: int, role_id: int | None) -> None:
        self._client = client
        self._channel_id = channel_id
        self._role_id = role_id
        self._buttons: list[ButtonsFor] = []

    def add_buttons(self, buttons_for: ButtonsFor) -> Callable[[], None]:
        """Put ``buttons_for``'s buttons under the groups it gives some for, beside those of
        every other cog that registered; returns the unregister."""
        self._buttons.append(buttons_for)

        def remove() -> None:
            if buttons_for in self._buttons:
                self._buttons.remove(buttons_for)

        return remove

    @property
    def ready(self) -> bool:
        """Alerts wait in the outbox until the bot has logged in and connected."""
        return self._client.is_ready()

    def _view(self, alerts: Sequence[Alert]) -> discord.ui.View | None:
        items = [item for buttons_for in self._buttons for item in buttons_for(alerts)]
        if not items:
            return None
        view = discord.ui.View(timeout=None)
        for item in items:
            view.add_item(item)
        return view

    async def send(self, alerts: Sequence[Alert], group_id: str) -> None:
        """One message for the group: its embed, or for a storm (more than ``GROUP_MAX``) the
        summary with every alert in an attached CSV file."""
        storm = len(alerts) > GROUP_MAX
        if storm:
            body = storm_message(alerts, group_id, self._role_id)
        else:
            body = discord_message(alerts, self._role_id)
        mentions = (
            discord.AllowedMentions(
                roles=[discord.Object(self._role_id)], everyone=False, users=False
            )
            if "content" in body and self._role_id is not None
            else discord.AllowedMentions.none()
        )
        channel = self._client.get_partial_messageable(self._channel_id)
        embed = discord.Embed.from_dict(body["embeds"][0])
        view = None if storm else self._view(alerts)  # a Silence button is for one bot
        try:
            if storm:
                listing = discord.File(io.BytesIO(storm_csv(alerts)), storm_filename(group_id))
                await channel.send(
                    content=body.get("content"),
                    embed=embed,
                    file=listing,
                    allowed_mentions=mentions,
                    nonce=group_id,
                )
            elif view is None:
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
