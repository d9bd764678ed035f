"""``chatops quota``: the quota summary in a terminal, from the running controller; ``chatops
quota set NAME``: a budget's limit or thresholds changed, as ``/quota set`` does (the service's
refusal printed as it comes, exit 1)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from chatops.cli.asking import EXIT_UNREACHABLE, ask
from chatops.client.blocking import MonitorError, request
from chatops.config import Settings
from chatops.presentation.formatting import no_controller, progress_bar, terminal_text
from chatops.wire.protocol import GetQuotaSummary, SetBudget

EXIT_USAGE = 2


def quota_command(settings: Settings, *, as_json: bool) -> int:
    try:
        reply = request(settings.monitoring.socket_path, GetQuotaSummary(), timeout=3.0)
    except OSError as exc:
        print(f"chatops: {no_controller(settings.monitoring.socket_path, exc)}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except MonitorError as exc:
        print(f"chatops: refused: {terminal_text(str(exc))}", file=sys.stderr)
        return EXIT_UNREACHABLE
    quotas = list(reply.get("quotas", []))
    if as_json:
        print(json.dumps({"quotas": quotas}, indent=2))
    else:
        print(format_quota_table(quotas, now=time.time()))
    return 0


def format_quota_table(quotas: Sequence[dict[str, Any]], *, now: float) -> str:
    if not quotas:
        return "No quota pools reported and no budgets configured."
    lines = []
    for quota in quotas:
        name = terminal_text(str(quota["name"]))
        where = quota["kind"] + (f" · {quota['family']}" if quota.get("family") else "")
        resets_at = quota.get("resets_at")
        reset = (
            f"{datetime.fromtimestamp(resets_at, UTC).astimezone():%Y-%m-%d %H:%M %Z}"
            if resets_at
            else quota.get("span") or "-"
        )
        stale = "  STALE" if quota.get("stale") else ""
        if quota.get("loading"):
            lines.append(f"{name}  ({where})  [loading]\n    {quota['runway']}")
            continue
        lines.append(
            f"{name}  ({where})  {progress_bar(quota['pct_left'] / 100)} left  "
            f"[{quota['level']}]{stale}\n    resets {reset} · {quota['runway']}"
        )
    return "\n".join(lines)


def set_command(settings: Settings, args: Any) -> int:
    """``chatops quota set NAME``: ``/quota set`` from a shell, through the operator's door."""
    try:
        thresholds = (
            None
            if args.thresholds is None
            else [float(part) for part in args.thresholds.replace(" ", "").split(",") if part]
        )
    except ValueError:
        print(f"chatops: invalid thresholds: {args.thresholds!r}; try 30,10", file=sys.stderr)
        return EXIT_USAGE
    socket_path = settings.monitoring.socket_path
    message = SetBudget(name=args.name, limit=args.limit, thresholds=thresholds)
    reply = ask(socket_path, message)
    view = reply["quota"]
    if view.get("loading"):
        print(f"Budget {terminal_text(args.name)} changed; {view['runway']}.")
        return 0
    print(
        f"Budget {terminal_text(args.name)} changed: {view['used']:,.6g}/{view['limit']:,.6g} "
        f"{terminal_text(view['unit'])}, {view['pct_left']:.0f}% left."
    )
    return 0
