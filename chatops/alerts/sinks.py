"""Where alerts go: the sink contract, delivery errors, and the webhook sink.

A sink receives a *group*: the alerts of one burst, sent as one message or one POST. The group
id is stable across retries and restarts (it is stored with the outbox rows before the first
attempt), so a resend after a crash is recognisably the same: the Discord channel sink uses it
as the message ``nonce`` with ``enforce_nonce``, and webhook receivers get it, with each alert's
own id, in the body and in headers.

A sink that takes storms (the Discord channel) may be handed more than ``GROUP_MAX`` alerts at
once: a storm, which it summarises in one message (:mod:`chatops.alerts.storms`).

Each sink says what it is (:class:`SinkKind`): an alert meant for some kinds only is handed to
those alone (an approval request's announcement goes to the webhooks, never the channel).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import Protocol
from urllib.parse import urlsplit

import aiohttp

from chatops.alerts.render import discord_message, is_discord_webhook, json_body
from chatops.presentation.formatting import redact_url
from chatops.records.alerts import Alert

ALERT_ID_HEADER = "X-Chatops-Alert-Id"
GROUP_ID_HEADER = "X-Chatops-Group-Id"


class DeliveryError(Exception):
    """A failed attempt. ``retry_after``: the sink said when to retry (a 429), and nothing was
    delivered; ``permanent``: retrying cannot help."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class SinkKind(StrEnum):
    """What a sink is, for an alert meant for some sinks only: an approval request's
    announcement is for webhooks, since the approvals cog posts its own prompt, with buttons,
    where the channel would have shown it."""

    CHANNEL = "channel"
    """The Discord alert channel (the bot's own sink)."""
    WEBHOOK = "webhook"
    """Every webhook, Discord's included, and any other receiver outside the bot."""


class Sink(Protocol):
    name: str
    kind: SinkKind
    pace: float
    """The least time, in seconds, between the starts of two messages to this sink within a
    burst: its rate limit's steady rate. The first message after a quiet spell never waits."""
    storms: bool
    """Whether a storm reaches this sink as one summary: with more alerts due at once than
    ``alerts.storm_threshold``, it is handed them all (up to ``STORM_MAX``) as one group, more
    than ``GROUP_MAX``, and sends one message for them (the Discord channel). Else it gets
    every alert in groups of ``GROUP_MAX`` at most (the webhooks)."""

    @property
    def ready(self) -> bool:
        """False while the sink cannot deliver yet (Discord not logged in): alerts wait."""

    async def send(self, alerts: Sequence[Alert], group_id: str) -> None:
        """Deliver the group or raise :class:`DeliveryError`."""


def webhook_sink_name(url: str) -> str:
    """A stable name that identifies the URL without revealing its secret token."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return f"webhook:{urlsplit(url).hostname}:{digest}"


class WebhookSink:
    """POSTs each group: a Discord embed to Discord webhooks, the plain JSON body elsewhere."""

    kind = SinkKind.WEBHOOK
    ready = True
    pace = 0.0  # a 429 says when to come back; nothing to pace ahead of it
    storms = False  # machines read webhooks: every alert, however many

    def __init__(
        self,
        url: str,
        session: Callable[[], aiohttp.ClientSession],
        timeout: float,
        mention_role_id: int | None = None,
    ) -> None:
        self._url = url
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._discord = is_discord_webhook(url)
        self._mention = mention_role_id
        self.name = webhook_sink_name(url)

    async def send(self, alerts: Sequence[Alert], group_id: str) -> None:
        if self._discord:
            body = discord_message(alerts, self._mention)
        else:
            body = json_body(alerts, group_id)
        headers = {
            ALERT_ID_HEADER: ",".join(alert.alert_id for alert in alerts),
            GROUP_ID_HEADER: group_id,
        }
        try:
            async with self._session().post(
                self._url, json=body, headers=headers, timeout=self._timeout
            ) as response:
                if 200 <= response.status < 300:
                    return
                text = (await response.text())[:200]
                if response.status == 429:
                    raise DeliveryError(
                        "rate limited (429)", retry_after=_retry_after(response.headers, text)
                    )
                permanent = 400 <= response.status < 500 and response.status != 408
                raise DeliveryError(f"HTTP {response.status}: {text}", permanent=permanent)
        except (aiohttp.ClientError, TimeoutError) as exc:
            # aiohttp puts the URL (and so its secret) in some messages: never pass it on.
            reason = str(exc).replace(self._url, redact_url(self._url))
            raise DeliveryError(f"{type(exc).__name__}: {reason}") from exc


def _retry_after(headers: Mapping[str, str], body: str) -> float | None:
    for value in (headers.get("Retry-After"), headers.get("X-RateLimit-Reset-After")):
        if value:
            try:
                return max(0.0, float(value))
            except ValueError:
                continue
    try:
        data = json.loads(body)
        return max(0.0, float(data["retry_after"]))
    except (ValueError, KeyError, TypeError):
        return None
