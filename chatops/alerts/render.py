"""Alert payloads, one function per kind of sink, for alerts of any kind:

* :func:`discord_message`: the Discord channel and Discord webhooks (an embed).
* :func:`json_body`: every other webhook (the documented JSON body, see the README).

Pure functions on a group of :class:`Alert`, shared by the webhook sink and the Discord channel
sink so they never drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from chatops.presentation.formatting import discord_text, plural
from chatops.presentation.palette import SEVERITY_COLOUR, SEVERITY_EMOJI
from chatops.records.alerts import Alert

DISCORD_WEBHOOK_HOSTS = frozenset(
    {"discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com"}
)
GROUP_MAX = 20
"""Alerts in one group: 20 lines of at most ~190 characters fit one embed's description."""
_EMBED_DESCRIPTION_LIMIT = 4096
_LINE_LIMIT = 190


def is_discord_webhook(url: str) -> bool:
    parts = urlsplit(url)
    return parts.hostname in DISCORD_WEBHOOK_HOSTS and parts.path.startswith("/api/webhooks/")


def iso_time(ts: float) -> str:
    """A timestamp as every payload writes it: ISO 8601, in UTC."""
    return datetime.fromtimestamp(ts, UTC).isoformat()


def title(alert: Alert) -> str:
    """The alert's title with its severity's emoji, as every sink shows it."""
    return f"{SEVERITY_EMOJI[alert.severity]} {alert.title}"


def _embed(alert: Alert) -> dict[str, Any]:
    lines = [discord_text(alert.body)]
    if alert.opened_at is not None and alert.ts > alert.opened_at:
        lines.append(f"Since <t:{int(alert.opened_at)}:R>")
    lines.append(f"<t:{int(alert.ts)}:R>")
    footer = "chatops" if alert.incident_id is None else f"chatops incident #{alert.incident_id}"
    status = alert.data.get("status")
    fields = [{"name": "status", "value": str(status), "inline": True}] if status else []
    return {
        "title": discord_text(title(alert))[:256],
        "description": "\n".join(lines)[:_EMBED_DESCRIPTION_LIMIT],
        "color": SEVERITY_COLOUR[alert.severity],
        "timestamp": iso_time(alert.ts),
        "fields": fields,
        "footer": {"text": footer},
    }


def discord_message(alerts: Sequence[Alert], mention_role_id: int | None = None) -> dict[str, Any]:
    """One message for a group: a single alert keeps its own embed; several are one embed with
    a line each, in the colour of the worst. The alert role is mentioned for problems only."""
    if len(alerts) == 1:
        embed = _embed(alerts[0])
    else:
        lines = [
            f"{discord_text(title(alert))} — {discord_text(alert.body.splitlines()[0])}"[
                :_LINE_LIMIT
            ]
            if alert.body
            else discord_text(title(alert))[:_LINE_LIMIT]
            for alert in alerts
        ]
        problems = sum(alert.severity.is_problem for alert in alerts)
        worst = min((alert.severity for alert in alerts), key=lambda s: s.rank)
        embed = {
            "title": f"chatops · {plural(len(alerts), 'alert')} · "
            f"{plural(problems, 'problem')}, {len(alerts) - problems} other",
            "description": "\n".join(lines)[:_EMBED_DESCRIPTION_LIMIT],
            "color": SEVERITY_COLOUR[worst],
            "timestamp": iso_time(alerts[-1].ts),
            "footer": {"text": "chatops"},
        }
    body: dict[str, Any] = {"embeds": [embed], "allowed_mentions": {"parse": []}}
    if mention_role_id is not None and any(alert.severity.is_problem for alert in alerts):
        body["content"] = f"<@&{mention_role_id}>"
        body["allowed_mentions"] = {"roles": [str(mention_role_id)]}
    return body


def json_body(alerts: Sequence[Alert], group_id: str) -> dict[str, Any]:
    """The documented webhook body: the first alert's members at the top level (what a
    receiver of single alerts reads), and ``alerts`` listing every alert of the group, each
    with its own ``alert_id``, the receiver's dedupe key."""
    return {**_json(alerts[0]), "group_id": group_id, "alerts": [_json(a) for a in alerts]}


def _json(alert: Alert) -> dict[str, Any]:
    return {
        "source": "chatops",
        "alert_id": alert.alert_id,
        "kind": alert.kind,
        "subject": alert.subject,
        "severity": str(alert.severity),
        "incident_kind": alert.incident_kind,
        "detail": alert.body,
        "time": iso_time(alert.ts),
        "incident_id": alert.incident_id,
        "opened_at": iso_time(alert.opened_at) if alert.opened_at is not None else None,
        "title": title(alert),
        **alert.data,
    }
