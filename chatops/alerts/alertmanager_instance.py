"""One Alertmanager instance, as the publisher posts to it: its endpoint, a stable name that
hides its credentials, what it still has to be told, and the figures of its posts.

The figures (:attr:`AlertmanagerInstance.sent`, ``failed``, ``last_error``,
``last_success_at``) are what the diagnostics probe and the controller's metrics read. A URL
may carry a password or a token (``https://user:secret@am:9093/?token=…``): only
:attr:`~AlertmanagerInstance.name` and :func:`~chatops.presentation.formatting.redact_url`'s
form are ever shown, and an error message is cleaned of the URL before it is kept or logged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from chatops.presentation.formatting import redact_url

ALERTS_PATH = "/api/v2/alerts"

Labels = tuple[tuple[str, str], ...]
"""An alert's labels, sorted: what Alertmanager tells alerts apart by (their fingerprint)."""


def rfc3339(epoch: float) -> str:
    """``2027-01-15T08:00:00.000Z``: the time format of Alertmanager's API, in UTC."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


@dataclass(frozen=True, slots=True)
class PostedAlert:
    """One alert as an instance gets it. ``ends_at`` None: firing (its ``endsAt`` is set ahead
    at each post); else resolved then."""

    labels: Labels
    summary: str
    description: str
    starts_at: float
    ends_at: float | None = None

    def body(self, firing_ends_at: float) -> dict[str, Any]:
        annotations = {"summary": self.summary}
        if self.description:
            annotations["description"] = self.description
        ends_at = firing_ends_at if self.ends_at is None else self.ends_at
        return {
            "labels": dict(self.labels),
            "annotations": annotations,
            "startsAt": rfc3339(self.starts_at),
            "endsAt": rfc3339(max(ends_at, self.starts_at)),
        }


def alertmanager_name(url: str) -> str:
    """A stable name that tells instances apart (host, port, a hash of the whole URL) and
    reveals none of its credentials."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"alertmanager:{parts.hostname}{port}:{digest}"


def alerts_endpoint(base: str) -> str:
    """``base`` (where the instance serves, maybe under a path prefix) + ``/api/v2/alerts``,
    its query (a proxy's token) kept."""
    parts = urlsplit(base)
    path = parts.path.rstrip("/") + ALERTS_PATH
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


@dataclass(eq=False, slots=True)
class AlertmanagerInstance:
    """One instance: where it is, what it is owed, and how its posts went."""

    url: str = field(repr=False)
    """The base URL, as configured: a secret. Never log it; :attr:`name` names it."""
    name: str = ""
    sent: int = 0
    """Posts it accepted (2xx)."""
    failed: int = 0
    """Posts that failed (no answer, or not a 2xx)."""
    last_error: str | None = None
    """What the latest failed post met (the URL cleaned out); kept after a success, for the
    record: :attr:`failing` says whether it still fails."""
    last_success_at: float | None = None
    last_failure_at: float | None = None
    failures: int = 0
    """Failed posts in a row since the last success: the backoff's count."""
    next_post_at: float | None = None
    """When the next post is due (a resend, or a retry after a failure)."""
    last_firing: int = 0
    """How many firing alerts the latest accepted post held."""
    owed: dict[Labels, PostedAlert] = field(default_factory=dict)
    """Resolved alerts this instance has not accepted yet, by labels."""
    in_flight: bool = False
    again: bool = False
    """Something changed while a post was in flight: post again as soon as it ends."""

    def __post_init__(self) -> None:
        self.name = self.name or alertmanager_name(self.url)

    @property
    def failing(self) -> bool:
        return self.failures > 0

    async def post(
        self, session: aiohttp.ClientSession, body: list[dict[str, Any]], timeout: float
    ) -> str | None:
        """POST ``body``; None when accepted, else why not (the URL cleaned out)."""
        endpoint = alerts_endpoint(self.url)
        try:
            async with session.post(
                endpoint, json=body, timeout=aiohttp.ClientTimeout(total=timeout)
            ) as response:
                if 200 <= response.status < 300:
                    return None
                text = " ".join((await response.text()).split())[:200]
                return self.clean(f"HTTP {response.status}: {text}".rstrip(": "))
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return self.clean(f"{type(exc).__name__}: {exc}".rstrip(": "))

    def clean(self, message: str) -> str:
        """``message`` without the URL, its credentials or its query (aiohttp puts the URL in
        some of its errors): the URL becomes its redacted form, a credential ``…``."""
        endpoint = alerts_endpoint(self.url)
        for url in sorted({endpoint, self.url, self.url.rstrip("/")}, key=len, reverse=True):
            message = message.replace(url, redact_url(self.url))
        parts = urlsplit(self.url)
        fragments = [parts.netloc.rpartition("@")[0], parts.password, parts.query]
        for fragment in sorted(filter(None, fragments), key=len, reverse=True):
            message = message.replace(fragment, "…")
        return message[:500]

    def accepted(self, now: float, sent: list[PostedAlert], firing: int) -> None:
        self.sent += 1
        self.failures = 0
        self.last_success_at = now
        self.last_firing = firing
        for alert in sent:
            if self.owed.get(alert.labels) is alert:
                del self.owed[alert.labels]

    def refused(self, now: float, error: str) -> None:
        self.failed += 1
        self.failures += 1
        self.last_error = error
        self.last_failure_at = now
