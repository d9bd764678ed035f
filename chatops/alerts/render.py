"""Alert payloads: a Discord embed (channel and Discord webhooks) and a plain JSON body.

Pure functions on :class:`Alert`, shared by the webhook sink and the Discord channel sink so the
two never drift apart. The plain JSON body is documented in the README.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from chatops.alerts.model import PROBLEM_KINDS, Alert, AlertKind
from chatops.presentation.formatting import describe_duration, discord_text

RED = 0xE74C3C
ORANGE = 0xE67E22
GREEN = 0x2ECC71

_TITLES = {
    AlertKind.DOWN: "🔴 {channel} is down",
    AlertKind.STALE: "🟠 {channel} is stale",
    AlertKind.REMINDER: "🔴 {channel} is still {status}",
    AlertKind.FLAPPING: "🟠 {channel} is flapping",
    AlertKind.RECOVERED: "🟢 {channel} is back {status}",
    AlertKind.STABLE: "🟢 {channel} stopped flapping",
}
_COLOURS = {
    AlertKind.DOWN: RED,
    AlertKind.REMINDER: RED,
    AlertKind.STALE: ORANGE,
    AlertKind.FLAPPING: ORANGE,
    AlertKind.RECOVERED: GREEN,
    AlertKind.STABLE: GREEN,
}
DISCORD_WEBHOOK_HOSTS = frozenset(
    {"discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com"}
)


def is_discord_webhook(url: str) -> bool:
    parts = urlsplit(url)
    return parts.hostname in DISCORD_WEBHOOK_HOSTS and parts.path.startswith("/api/webhooks/")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def discord_embed(alert: Alert) -> dict[str, Any]:
    """An embed dict as Discord's API takes it (and ``discord.Embed.from_dict`` reads it)."""
    lines = [discord_text(alert.detail)]
    if alert.opened_at is not None and alert.kind in (AlertKind.REMINDER, AlertKind.RECOVERED):
        lines.append(f"Since <t:{int(alert.opened_at)}:R>")
    if alert.downtime is not None:
        lines.append(f"Down for {describe_duration(alert.downtime)}")
    lines.append(f"<t:{int(alert.ts)}:R>")
    return {
        "title": _TITLES[alert.kind].format(
            channel=discord_text(alert.channel), status=alert.status
        ),
        "description": "\n".join(lines),
        "color": _COLOURS[alert.kind],
        "timestamp": _iso(alert.ts),
        "fields": [{"name": "status", "value": alert.status, "inline": True}],
        "footer": {
            "text": f"chatops incident #{alert.incident_id}"
            if alert.incident_id is not None
            else "chatops"
        },
    }


def discord_message(alert: Alert, mention_role_id: int | None = None) -> dict[str, Any]:
    """A full message body: the embed, plus the role mention for problems only."""
    body: dict[str, Any] = {"embeds": [discord_embed(alert)], "allowed_mentions": {"parse": []}}
    if mention_role_id is not None and alert.kind in PROBLEM_KINDS:
        body["content"] = f"<@&{mention_role_id}>"
        body["allowed_mentions"] = {"roles": [str(mention_role_id)]}
    return body


GROUP_MAX = 20
"""Alerts in one group: 20 lines of at most ~190 characters fit one embed's description."""
_EMBED_DESCRIPTION_LIMIT = 4096
_LINE_LIMIT = 190
_SEVERITY = [AlertKind.DOWN, AlertKind.REMINDER, AlertKind.STALE, AlertKind.FLAPPING]


def _title(alert: Alert) -> str:
    return _TITLES[alert.kind].format(channel=alert.channel, status=alert.status)


def discord_group_message(
    alerts: Sequence[Alert], mention_role_id: int | None = None
) -> dict[str, Any]:
    """One message for a burst: a single alert keeps its own embed; several are one embed
    naming every bot, one line each, worst colour first."""
    if len(alerts) == 1:
        return discord_message(alerts[0], mention_role_id)
    lines = []
    for alert in alerts:
        title = _TITLES[alert.kind].format(
            channel=f"**{discord_text(alert.channel)}**", status=alert.status
        )
        lines.append(f"{title} — {discord_text(alert.detail)}"[:_LINE_LIMIT])
    problems = [alert for alert in alerts if alert.kind in PROBLEM_KINDS]
    worst = min(
        (alert.kind for alert in problems),
        key=lambda kind: _SEVERITY.index(kind) if kind in _SEVERITY else len(_SEVERITY),
        default=alerts[0].kind,
    )
    summary = f"{len(problems)} problem(s), {len(alerts) - len(problems)} recovery(ies)"
    embed = {
        "title": f"chatops · {len(alerts)} alerts · {summary}",
        "description": "\n".join(lines)[:_EMBED_DESCRIPTION_LIMIT],
        "color": _COLOURS[worst],
        "timestamp": _iso(alerts[-1].ts),
        "footer": {"text": "chatops"},
    }
    body: dict[str, Any] = {"embeds": [embed], "allowed_mentions": {"parse": []}}
    if mention_role_id is not None and problems:
        body["content"] = f"<@&{mention_role_id}>"
        body["allowed_mentions"] = {"roles": [str(mention_role_id)]}
    return body


def plain_json_group(alerts: Sequence[Alert], group_id: str) -> dict[str, Any]:
    """The documented webhook body: the first alert's fields at the top level (what a receiver
    of single alerts reads), and ``alerts`` listing every alert of the group, each with its
    own ``alert_id``, the receiver's dedupe key."""
    return {
        **plain_json(alerts[0]),
        "group_id": group_id,
        "alerts": [plain_json(alert) for alert in alerts],
    }


def plain_json(alert: Alert) -> dict[str, Any]:
    """One alert as the documented webhook body describes it."""
    return {
        "source": "chatops",
        "alert_id": alert.alert_id,
        "kind": str(alert.kind),
        "bot": alert.channel,
        "status": alert.status,
        "detail": alert.detail,
        "time": _iso(alert.ts),
        "incident_id": alert.incident_id,
        "opened_at": _iso(alert.opened_at) if alert.opened_at is not None else None,
        "downtime_seconds": alert.downtime,
        "title": _title(alert),
    }
