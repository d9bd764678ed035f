"""``chatops`` command line: ``run`` the controller, ``status`` of the fleet, and one module
per command group for the rest (``policy``, ``quota``, ``approvals``, ``cache``, ``doctor``,
``restart``, ``silence``/``maintenance``/``unsilence``/``silences``, ``agents``, ``web``,
``hook``, ``statusline``, ``watch``, ``setup``)."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chatops.cli.parser import build_parser
from chatops.cli.pipes import EXIT_READER_GONE, stdout_guard

if TYPE_CHECKING:
    from chatops.config import Settings

EXIT_CONFIG = 2
EXIT_RUNTIME = 1
EXIT_NOTHING_TO_READ = 3
SILENCE_COMMANDS = frozenset({"silence", "maintenance", "unsilence", "silences"})
WARNS_OF_EXPOSED_SECRETS = frozenset({"run", "doctor"})
"""A config file others may read that holds a secret is told once per run of the controller
(and by the doctor, where one looks for problems), not on every ``status`` an operator or a
cron job types."""


def _command_of(words: list[str]) -> str | None:
    """The command a command line names, past the global options and their values."""
    rest = iter(words)
    for word in rest:
        if word in ("--config", "--log-level"):
            next(rest, None)
        elif not word.startswith("-"):
            return word
    return None


def _setup_logging(level: str) -> None:
    import logging

    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. A reader that stops early (``chatops policy show | head``) is no error
    for any command: output stops there, quietly, with exit 0 (see :mod:`chatops.cli.pipes`)."""
    with stdout_guard():
        return _main(argv)
    return EXIT_READER_GONE


def _main(argv: Sequence[str] | None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(words)
    except SystemExit as exc:
        if exc.code in (0, None) or _command_of(words) not in ("hook", "statusline"):
            raise
        if _command_of(words) == "statusline":
            # A status line that does not parse still draws a line and exits 0.
            print("chatops statusline: bad command line (see its stderr)")
            return 0
        # A hook's command line that does not parse (a typo in settings.json) still answers
        # in the agent's format with exit 0: argparse's exit 2 would block every tool call.
        if "codex" in words:
            return 0  # Codex: no verdict, its own approval applies (it has no "ask" to say)
        from chatops.cli.hook import unparsable_command_line

        return unparsable_command_line()
    if args.command == "hook":
        # An agent's own command: it finds chatops's config by itself (never in the agent's
        # working directory) and answers in the agent's format whatever goes wrong.
        from chatops.cli.hook import hook_command

        if args.hook_command == "codex":
            from chatops.cli.hook_codex import codex_hook

            return codex_hook(args.config, args.agent, args.timeout, sys.stdin, sys.stdout)
        return hook_command(
            args.config,
            args.agent,
            args.timeout,
            wait_reply=args.wait_reply,
            max_replies=args.max_replies,
        )
    if args.command == "statusline":
        # Claude Code's own command: light, silent, always a line and exit 0.
        from chatops.cli.statusline import statusline_command

        return statusline_command(args.config, args.agent, args.then)
    if args.command == "setup":
        # Writes an agent's settings, not chatops's: it needs no config (there may be none yet).
        from chatops.cli.setup import setup_command

        return setup_command(args)
    from chatops.config import load_settings, secrets_exposed
    from chatops.config_file import ConfigError, resolve_config_path

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"chatops: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command in WARNS_OF_EXPOSED_SECRETS:
        warning = secrets_exposed(resolve_config_path(args.config))
        if warning is not None:
            print(f"chatops: {warning}", file=sys.stderr)
    _setup_logging(args.log_level or settings.logging.level)
    from chatops.cli.asking import CommandFailed

    try:
        return _dispatch(settings, args)
    except CommandFailed as failed:  # told on stderr already
        return failed.status


def _dispatch(settings: Settings, args: Any) -> int:
    """Import the command's module and run it; each pulls in only what it needs."""
    if args.command == "run":
        return _run(settings)
    if args.command == "edge":
        from chatops.cli.edge import edge_command

        return edge_command(settings, args)
    if args.command == "policy":
        from chatops.cli.policy import policy_command

        return policy_command(settings, args)
    if args.command == "approvals":
        from chatops.cli.approvals import approvals_command

        return approvals_command(settings, args)
    if args.command in ("doctor", "restart"):
        from chatops.cli import doctor as doctor_cli

        if args.command == "restart":
            return doctor_cli.restart_command(settings, args.bot)
        return doctor_cli.doctor_command(settings, as_json=args.json)
    if args.command == "cache":
        from chatops.cli.cache import cache_command

        return cache_command(settings, args)
    if args.command in SILENCE_COMMANDS:
        from chatops.cli.silences import silences_command

        return silences_command(settings, args)
    if args.command == "quota":
        from chatops.cli import quota as quota_cli

        if args.quota_command == "set":
            return quota_cli.set_command(settings, args)
        return quota_cli.quota_command(settings, as_json=args.json)
    if args.command == "recover":
        from chatops.cli.recover import recover_command

        return recover_command(settings, args)
    if args.command == "watch":
        from chatops.cli.watch import watch_command

        return watch_command(settings, args)
    if args.command == "agents":
        from chatops.cli.agents import agents_command

        return agents_command(settings, args)
    if args.command == "web":
        from chatops.cli.web import web_command

        return web_command(settings, args)
    return _status(settings, as_json=args.json, host=args.host)


def _run(settings: Settings) -> int:
    from chatops.cli.run import run_headless, serve

    if settings.discord.token is None:
        return serve(run_headless(settings), settings)
    from chatops.discord.bot import TokenRejected, run_bot

    try:
        return serve(run_bot(settings), settings)
    except TokenRejected as exc:
        print(f"chatops: {exc}", file=sys.stderr)
        return EXIT_CONFIG


def _status(settings: Settings, *, as_json: bool, host: str | None = None) -> int:
    import json

    from chatops.cli.status import format_sessions_table, sessions_of
    from chatops.client.blocking import request
    from chatops.paths import NoDatabase
    from chatops.presentation.formatting import plural, terminal_text
    from chatops.services.offline import read_agents, read_fleet
    from chatops.wire.protocol import GetStatus

    source = "monitor"
    bots: list[dict[str, Any]]
    agents: list[dict[str, Any]]
    controller: dict[str, Any] = {}
    try:
        reply = request(settings.monitoring.socket_path, GetStatus(), timeout=3.0)
        bots = list(reply.get("bots", []))
        agents = list(reply.get("agents", []))
        controller = dict(reply.get("controller") or {})
    except OSError:
        source = "database (monitor not running)"
        from chatops.api.fleet import agent_to_dict, bot_to_dict

        try:
            offline = read_fleet(settings.monitoring.database_path)
            offline_agents = read_agents(settings.monitoring.database_path)
        except NoDatabase as exc:
            print(
                f"chatops: no controller answers on {settings.monitoring.socket_path} and {exc}",
                file=sys.stderr,
            )
            return EXIT_NOTHING_TO_READ
        bots = [bot_to_dict(bot) for bot in offline]
        agents = [agent_to_dict(agent) for agent in offline_agents]
    hosts = sorted({str(bot.get("host")) for bot in bots if bot.get("host")})
    if host is not None:
        bots = [bot for bot in bots if bot.get("host") == host]
        kept = {bot["channel"] for bot in bots}
        agents = [agent for agent in agents if agent.get("channel") in kept]
        if not bots and not as_json:
            known = ", ".join(terminal_text(name) for name in hosts) or "none"
            print(f"No bots on host {terminal_text(host)} (hosts with bots: {known}).")
            return 0
    if as_json:
        answer = {"source": source, "controller": controller, "bots": bots, "agents": agents}
        print(json.dumps(answer, indent=2))
        return 0
    print(format_fleet_table(bots, now=time.time()))
    sessions = sessions_of(bots, agents)
    if sessions:
        print("\nSESSIONS")
        print(format_sessions_table(sessions))
    print(f"\n{plural(len(bots), 'bot')}, from {source}")
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
    """One row a bot: its name (``host/name`` only where two hosts share it) and its host."""
    # Imported here: the commands agents run on every tool call or redraw (hook, statusline)
    # do not pay for dataclasses and what it pulls in.
    from chatops.presentation.formatting import terminal_text
    from chatops.records.hosts import short_names

    headers = ["CHANNEL", "HOST", "STATUS", "PID", "RSS MB", "CPU %", "LAST HEARTBEAT", "FEATURES"]
    rows = []
    shown = short_names(str(bot["channel"]) for bot in bots)
    for bot in bots:
        features = ",".join(sorted(k for k, v in (bot.get("features") or {}).items() if v))
        rss, cpu = bot.get("rss_mb"), bot.get("cpu_pct")
        rows.append(
            [
                terminal_text(shown[str(bot["channel"])]),
                terminal_text(str(bot.get("host") or "-")),
                str(bot["status"]),
                str(bot["pid"]),
                "-" if rss is None else f"{rss:.1f}",
                "-" if cpu is None else f"{cpu:.1f}",
                _ago(now, bot.get("last_heartbeat")),
                terminal_text(features) or "-",
            ]
        )
    from chatops.cli.status import text_table

    return text_table(headers, rows)
