"""Alert storms: more alerts at once than the Discord channel can name, told as one summary.

A network split, a host reboot or a bad deploy can take thousands of bots down in a second.
Named 20 to a message, 5,000 alerts are 250 messages, and at Discord's 5 messages per 5 s per
channel the last would arrive four minutes later, behind a channel nobody can read any more.
So when more alerts are due for the channel at once than ``alerts.storm_threshold``, delivery
hands it all of them (up to :data:`STORM_MAX`) as one group, and the channel gets one message:
the counts by kind, the counts by host worst first with a few names each, and every alert, one
row each, in an attached CSV file. The group is an outbox group like any other (one id, stored
before the send, the message's nonce), so its alerts are delivered once, by the summary, and a
resend after a crash returns the message Discord already has. Webhooks never summarise: they
get every alert, for the machines that read them.

Pure functions on a group of :class:`Alert`, for any kind of alert, counted by its ``kind``:
an alert's host is the ``host`` member of its data (fleet alerts carry their bot's; an alert
about a whole host should carry that host), and alerts without one count under
:data:`NO_HOST`.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from chatops.alerts.render import iso_time
from chatops.presentation.formatting import discord_text, plural
from chatops.presentation.palette import SEVERITY_COLOUR, SEVERITY_EMOJI
from chatops.records.alerts import Alert, Severity

STORM_MAX = 10_000
"""Alerts in one summary. Each CSV row is bounded (see :func:`storm_csv`), so the attachment
of the largest summary stays under Discord's 10 MiB upload limit; a bigger storm is told in
several summaries."""
NO_HOST = "(no host)"
NAMES_PER_HOST = 3
"""A few names on each host's line, the worst first: enough to recognise what went down."""
_DESCRIPTION_LIMIT = 4096
_FIELD_LIMIT = 100
"""Characters kept of a CSV cell (a name, a host, a detail), so a row has a bounded size."""
CSV_COLUMNS = (
    "severity",
    "kind",
    "host",
    "subject",
    "detail",
    "time",
    "incident_kind",
    "incident_id",
    "alert_id",
)


def alert_host(alert: Alert) -> str:
    """Where the alert's subject runs: its data's ``host``, else :data:`NO_HOST`."""
    host = alert.data.get("host")
    return host if isinstance(host, str) and host else NO_HOST


def worst_first(alerts: Iterable[Alert]) -> list[Alert]:
    """Critical before warning before info before resolved, then by host and subject."""
    return sorted(alerts, key=lambda a: (a.severity.rank, alert_host(a), a.subject, a.ts))


def storm_filename(group_id: str) -> str:
    return f"alert-storm-{group_id}.csv"


def storm_message(
    alerts: Sequence[Alert], group_id: str, mention_role_id: int | None = None
) -> dict[str, Any]:
    """The summary, as :func:`~chatops.alerts.render.discord_message` shapes a message: one
    embed in the colour of the worst alert, the role mentioned once if any is a problem."""
    ordered = worst_first(alerts)
    worst = ordered[0].severity
    problems = sum(alert.severity.is_problem for alert in alerts)
    header = (
        f"**{plural(len(alerts), 'alert')} at once**, too many to post one by one: each is a "
        f"row of the attached `{storm_filename(group_id)}` (webhooks get every alert)."
    )
    kinds = " · ".join(
        f"{SEVERITY_EMOJI[severity]} {discord_text(kind)} {count:,}"
        for kind, severity, count in _by_kind(ordered)
    )
    sections = [header, "", "**By kind**", kinds[:1000], "", "**By host**, worst first"]
    description = _fit(sections, _host_lines(ordered), "host")
    embed = {
        "title": f"{SEVERITY_EMOJI[worst]} Alert storm · {plural(len(alerts), 'alert')} · "
        f"{plural(problems, 'problem')}, {len(alerts) - problems:,} other",
        "description": description,
        "color": SEVERITY_COLOUR[worst],
        "timestamp": iso_time(max(alert.ts for alert in alerts)),
        "footer": {"text": f"chatops alert storm {group_id}"},
    }
    body: dict[str, Any] = {"embeds": [embed], "allowed_mentions": {"parse": []}}
    if mention_role_id is not None and problems:
        body["content"] = f"<@&{mention_role_id}>"
        body["allowed_mentions"] = {"roles": [str(mention_role_id)]}
    return body


def storm_csv(alerts: Sequence[Alert]) -> bytes:
    """Every alert of the storm, one row each, worst first. Cells are cut to a bounded length
    (the file's size is bounded by the number of alerts) and one that a spreadsheet would run
    as a formula (starting ``=``, ``+``, ``-``, ``@``) is prefixed with ``'``: a bot's name is
    not the operator's to run."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for alert in worst_first(alerts):
        detail = alert.body.splitlines()[0] if alert.body else ""
        row = (
            str(alert.severity),
            alert.kind,
            alert_host(alert),
            alert.subject,
            detail,
            iso_time(alert.ts),
            alert.incident_kind or "",
            "" if alert.incident_id is None else str(alert.incident_id),
            alert.alert_id,
        )
        writer.writerow([_cell(value) for value in row])
    return out.getvalue().encode()


def _cell(value: str) -> str:
    value = value[:_FIELD_LIMIT]
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _by_kind(ordered: Sequence[Alert]) -> list[tuple[str, Severity, int]]:
    """Each alert kind with its worst severity and count: the worst kinds first, then the
    commonest."""
    counts: Counter[str] = Counter()
    worst: dict[str, Severity] = {}
    for alert in ordered:
        counts[alert.kind] += 1
        worst.setdefault(alert.kind, alert.severity)  # ordered worst first
    return sorted(
        ((kind, worst[kind], count) for kind, count in counts.items()),
        key=lambda row: (row[1].rank, -row[2], row[0]),
    )


def _host_lines(ordered: Sequence[Alert]) -> list[str]:
    """A line per host: its worst severity, its count, its counts by kind and a few names. The
    hosts with the worst alerts first, then the most alerts."""
    by_host: defaultdict[str, list[Alert]] = defaultdict(list)
    for alert in ordered:
        by_host[alert_host(alert)].append(alert)
    hosts = sorted(by_host.items(), key=lambda item: (item[1][0].severity.rank, -len(item[1])))
    lines = []
    for host, alerts in hosts:
        kinds = ", ".join(f"{discord_text(k)} {n:,}" for k, _, n in _by_kind(alerts))
        names = ", ".join(discord_text(a.subject[:40]) for a in alerts[:NAMES_PER_HOST])
        more = ", …" if len(alerts) > NAMES_PER_HOST else ""
        lines.append(
            f"{SEVERITY_EMOJI[alerts[0].severity]} **{discord_text(host[:60])}** "
            f"{len(alerts):,}: {kinds[:300]} — {names}{more}"
        )
    return lines


def _fit(head: list[str], lines: list[str], what: str) -> str:
    """``head`` then as many of ``lines`` as fit one embed's description (with room kept for
    saying how many more there are: all of them are in the attachment)."""
    text = "\n".join(head)
    room = _DESCRIPTION_LIMIT - 80
    for index, line in enumerate(lines):
        if len(text) + 1 + len(line) > room:
            return f"{text}\n…and {plural(len(lines) - index, what)} more, in the attachment"
        text += "\n" + line
    return text
