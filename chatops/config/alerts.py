"""The ``alerts`` config section: where incidents are told (webhooks, Alertmanager) and how often
(reminders, flapping, delivery retries, the Alertmanager resend)."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


def check_http_urls(urls: list[SecretStr]) -> list[SecretStr]:
    """``urls`` unchanged when each is an http(s) URL with a host (and a valid port, if it names
    one); else a ValueError naming the entry by its index, never by its value (a URL may carry a
    token or a password)."""
    for index, url in enumerate(urls):
        try:
            parts = urlsplit(url.get_secret_value())
            usable = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            usable = False
        if not usable:
            raise ValueError(
                f"entry {index} is not an http(s) URL with a host (e.g. http://host:9093)"
            )
        try:
            _ = parts.port
        except ValueError:
            raise ValueError(f"entry {index} has a port that is not one (0 to 65535)") from None
    return urls


class AlertsConfig(BaseModel):
    """Where and how often incidents are told. Webhook URLs carry secrets and are never logged."""

    model_config = ConfigDict(extra="forbid")

    webhook_urls: list[SecretStr] = Field(default_factory=list)
    repeat_interval: float = Field(4 * 3600, ge=0)
    flapping_transitions: int = Field(5, ge=2)
    flapping_window: float = Field(600, gt=0)
    delivery_interval: float = Field(1, gt=0)
    group_wait: float = Field(0, ge=0, le=10)
    """Within a burst only: a message that is not full waits until this long after the previous
    one to the same sink began. The first alert after a quiet spell is always sent at once, and
    what arrives while a send is in flight or rate-limited is grouped whatever this is."""
    storm_threshold: int = Field(100, ge=20, le=10_000)
    """More alerts than this due at once for the Discord channel make a storm: one summary
    message (counts by host and kind, the full list attached) instead of a message per 20.
    100 is what the channel can name one by one within a few seconds: 20 alerts per message
    (one embed's 4,096 characters), 5 messages per 5 s (a channel's rate limit). At least 20
    (one message's worth), at most 10,000 (one summary's attachment). Webhooks get every
    alert whatever this is."""
    retry_initial: float = Field(1, gt=0)
    session_notice_interval: float = Field(60, ge=0)
    """Seconds within which a coding-agent session's ``agent_waiting`` or ``agent_finished``
    is told once (per session and kind): a session that finishes ten times in a minute posts
    once. 0 tells every one (an open ``agent_waiting`` is never told twice anyway)."""

    @field_validator("webhook_urls")
    @classmethod
    def _http_urls(cls, urls: list[SecretStr]) -> list[SecretStr]:
        return check_http_urls(urls)

    retry_max: float = Field(300, gt=0)
    http_timeout: float = Field(10, gt=0)

    alertmanager_urls: list[SecretStr] = Field(default_factory=list)
    """The base URL of each Alertmanager (``http://am-1:9093``; a path prefix if it serves
    under one). Every instance of an HA cluster is listed and posted to: its members share what
    they notified, not the alerts they get, so a load balancer in front of them would leave
    some without the alert. Secrets like the webhooks' (a password or a token may ride in them)."""
    alertmanager_controller_label: str | None = Field(None, min_length=1)
    """Add ``controller: <this>`` to every alert's labels. Off by default: two controllers
    that watch the same bots then post the same alert, which Alertmanager deduplicates."""
    alertmanager_resend: float = Field(60, gt=0)
    """Seconds between two posts of the open incidents to each instance (changes go at once)."""

    @field_validator("alertmanager_urls")
    @classmethod
    def _alertmanager_urls(cls, urls: list[SecretStr]) -> list[SecretStr]:
        for index, url in enumerate(check_http_urls(urls)):
            if "/api/" in urlsplit(url.get_secret_value()).path:
                raise ValueError(
                    f"entry {index} names an API path; give the instance's base URL "
                    "(http://host:9093): /api/v2/alerts is added to it"
                )
        return urls
