"""``chatops`` command line: ``run`` the controller, ``status`` of the fleet, and one module
per command group for the rest (``policy``, ``quota``, ``approvals``, ``cache``, ``doctor``,
``restart``, ``hook``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

from chatops import __version__
from chatops.cli import approvals as approvals_cli
from chatops.cli import cache as cache_cli
from chatops.cli import doctor as doctor_cli
from chatops.cli import hook as hook_cli
from chatops.config import (
    ConfigError,
    Settings,
    load_settings,
    resolve_config_path,
    secrets_exposed,
)
from chatops.presentation.formatting import terminal_text
from chatops.store import StoreError
from chatops.wire.protocol import GetStatus
from chatops.wire.transport import SocketInUseError

EXIT_CONFIG = 2
EXIT_RUNTIME = 1

log = logging.getLogger("chatops")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chatops", description="Supervise a fleet of bots and AI agents."
    )
    parser.add_argument("--version", action="version", version=f"chatops {__version__}")
    parser.add_argument(
        "--config", metavar="PATH", help="YAML config (default: $CHATOPS_CONFIG or ./config.yaml)"
    )
    parser.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="overrides logging.level from the config",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the controller (Discord bot, or headless without a token)")
    status = sub.add_parser(
        "status", help="print the fleet, from the running server or the database"
    )
    status.add_argument("--json", action="store_true", help="machine-readable output")
    policy = sub.add_parser("policy", help="what the approval policy decides, without asking")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True)
    check = policy_sub.add_parser("check", help="one decision (--type, --data) or a batch")
    check.add_argument("--type", dest="action_type", help="file_write, terminal_command, …")
    check.add_argument("--data", help="the action's data as a JSON object")
    check.add_argument("--batch", help='a file (or -) of {"type": …, "data": {…}} lines')
    policy_sub.add_parser("show", help="the effective rules, as JSON")
    quota = sub.add_parser("quota", help="every quota pool and budget: % left, reset, runway")
    quota.add_argument("--json", action="store_true", help="machine-readable output")
    approvals_cli.add_parser(sub)
    cache_cli.add_parser(sub)
    doctor_cli.add_parser(sub)
    hook_cli.add_parser(sub)
    return parser


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"chatops: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    warning = secrets_exposed(resolve_config_path(args.config))
    if warning is not None:
        print(f"chatops: {warning}", file=sys.stderr)
    _setup_logging(args.log_level or settings.logging.level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    if args.command == "run":
        return _run(settings)
    if args.command == "policy":
        from chatops.cli.policy import policy_command

        return policy_command(settings, args)
    if args.command == "approvals":
        return approvals_cli.approvals_command(settings, args)
    if args.command == "doctor":
        return doctor_cli.doctor_command(settings, as_json=args.json)
    if args.command == "restart":
        return doctor_cli.restart_command(settings, args.bot)
    if args.command == "cache":
        return cache_cli.cache_command(settings, args)
    if args.command == "hook":
        return hook_cli.hook_command(settings, args.agent, args.timeout)
    if args.command == "quota":
        from chatops.cli.quota import quota_command

        return quota_command(settings, as_json=args.json)
    return _status(settings, as_json=args.json)


def _run(settings: Settings) -> int:
    from chatops.runtime.controller import run_headless

    try:
        if settings.discord.token is not None:
            from chatops.discord.bot import TokenRejected, run_bot

            try:
                asyncio.run(run_bot(settings))
            except TokenRejected as exc:
                print(f"chatops: {exc}", file=sys.stderr)
                return EXIT_CONFIG
        else:
            asyncio.run(run_headless(settings))
    except (SocketInUseError, StoreError, OSError) as exc:
        # PermissionError and the other OSErrors of unusable paths: one line, no traceback.
        print(f"chatops: {exc}", file=sys.stderr)
        return EXIT_RUNTIME
    except KeyboardInterrupt:
        pass
    return 0


def _status(settings: Settings, *, as_json: bool) -> int:
    import json

    from chatops.client.blocking import request
    from chatops.store import read_bots_offline

    source = "monitor"
    bots: list[dict[str, Any]]
    controller: dict[str, Any] = {}
    try:
        reply = request(settings.monitoring.socket_path, GetStatus(), timeout=3.0)
        bots = list(reply.get("bots", []))
        controller = dict(reply.get("controller") or {})
    except OSError:
        source = "database (monitor not running)"
        from chatops.wire.handlers import bot_to_dict

        bots = [bot_to_dict(bot) for bot in read_bots_offline(settings.monitoring.database_path)]
    if as_json:
        print(json.dumps({"source": source, "controller": controller, "bots": bots}, indent=2))
        return 0
    print(format_fleet_table(bots, now=time.time()))
    print(f"\n{len(bots)} bot(s), from {source}")
    if controller.get("degraded"):
        print(f"WARNING: controller degraded: {terminal_text(str(controller.get('reason')))}")
    return 0


def _ago(now: float, ts: float | None) -> str:
    if not ts:
        return "-"
    seconds = max(0, int(now - ts))
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}m ago"
    if seconds < 172800:
        return f"{seconds // 3600}h ago"
    return f"{seconds // 86400}d ago"


def format_fleet_table(bots: Sequence[dict[str, Any]], *, now: float) -> str:
    headers = ["CHANNEL", "STATUS", "PID", "RSS MB", "CPU %", "LAST HEARTBEAT", "FEATURES"]
    rows = []
    for bot in bots:
        features = ",".join(sorted(k for k, v in (bot.get("features") or {}).items() if v))
        rss, cpu = bot.get("rss_mb"), bot.get("cpu_pct")
        rows.append(
            [
                terminal_text(str(bot["channel"])),
                str(bot["status"]),
                str(bot["pid"]),
                "-" if rss is None else f"{rss:.1f}",
                "-" if cpu is None else f"{cpu:.1f}",
                _ago(now, bot.get("last_heartbeat")),
                terminal_text(features) or "-",
            ]
        )
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)
