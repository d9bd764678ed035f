"""The whole ``chatops`` command tree, in one place and with no import beyond argparse.

Building the parser must cost nothing: every command parses its arguments first, and the
Claude Code hook runs on every tool call. Each command's module (and what it pulls in) is
imported only once the command is known (:func:`chatops.cli.main`).
"""

from __future__ import annotations

import argparse
from typing import Any

from chatops.cli.parser_agents import add_agent_commands

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _log_level(value: str) -> str:
    """``--log-level debug`` is as good as ``DEBUG``."""
    level = value.upper()
    if level not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"{value!r} is not one of {', '.join(LOG_LEVELS)}")
    return level


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chatops", description="Supervise a fleet of bots and AI agents."
    )
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="YAML config (default: $CHATOPS_CONFIG, else ./config.yaml, "
        "else ~/.config/chatops/config.yaml)",
    )
    parser.add_argument(
        "--log-level",
        type=_log_level,
        metavar="LEVEL",
        help=f"overrides logging.level from the config ({', '.join(LOG_LEVELS)}, any case)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", help="run the controller (Discord bot, or headless without a token)")
    status = sub.add_parser(
        "status", help="print the fleet, from the running server or the database"
    )
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument(
        "--host", metavar="HOST", help="only the bots of this host (on a hub: an edge's name)"
    )
    _policy(sub)
    _quota(sub)
    _approvals(sub)
    _cache(sub)
    doctor = sub.add_parser("doctor", help="check the controller and its files; exit 1 on failure")
    doctor.add_argument("--json", action="store_true", help="machine-readable output")
    restart = sub.add_parser("restart", help="restart a bot (control message, command, signal)")
    restart.add_argument("bot")
    _recover(sub)
    _silences(sub)
    _web(sub)
    _edge(sub)
    add_agent_commands(sub)
    return parser


class _VersionAction(argparse.Action):
    """``--version``, reading the installed metadata only when asked."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from chatops import __version__

        print(f"chatops {__version__}")
        parser.exit()


def _policy(sub: Any) -> None:
    policy = sub.add_parser(
        "policy", help="the approval policy: check, show, toggle auto-accept, change a rule"
    )
    policy_sub = policy.add_subparsers(dest="policy_command", required=True, metavar="COMMAND")
    check = policy_sub.add_parser("check", help="one decision (--type, --data) or a batch")
    check.add_argument("--type", dest="action_type", help="file_write, terminal_command, …")
    check.add_argument("--data", help="the action's data as a JSON object")
    check.add_argument("--batch", help='a file (or -) of {"type": …, "data": {…}} lines')
    policy_sub.add_parser(
        "show", help="the effective rules and active grants, as JSON (as /autoaccept rules)"
    )
    toggle = policy_sub.add_parser(
        "toggle",
        help="turn auto-accept on or off; flip it when left out (as /autoaccept toggle)",
        description="Turn auto-accept on or off for everything (flip it when left out), as "
        "/autoaccept toggle: off, every action that is not blocked waits for a human. Through "
        "the running controller, as its operator; saved, so a restart keeps it.",
    )
    toggle.add_argument("state", nargs="?", choices=("on", "off"), help="on or off")
    rule = policy_sub.add_parser(
        "rule",
        help="change one action type's rule: TYPE KEY=VALUE... (as /autoaccept rule)",
        description="Change one action type's rule, as /autoaccept rule: each KEY=VALUE is "
        "merged over the current rule, validated by the controller and saved (nothing changes "
        "when one is refused). Keys: enabled, requires_confirmation (true/false), "
        "max_file_size_mb, timeout (seconds), approvals_required, blocked_patterns, "
        "allowed_patterns (comma-separated globs; - for none), custom_validator (a dotted "
        "path; - for none). Through the running controller, as its operator.",
    )
    rule.add_argument("action_type", metavar="TYPE", help="file_write, terminal_command, …")
    rule.add_argument(
        "changes", nargs="+", metavar="KEY=VALUE", help="e.g. enabled=false timeout=120"
    )


def _approvals(sub: Any) -> None:
    approvals = sub.add_parser(
        "approvals", help="list and answer approval requests; grant and revoke grants"
    )
    approvals_sub = approvals.add_subparsers(
        dest="approvals_command", required=True, metavar="COMMAND"
    )
    listing = approvals_sub.add_parser(
        "list", help="pending requests (--all: the latest of any, as /autoaccept recent)"
    )
    listing.add_argument("--all", action="store_true", help="decided ones too")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    for verb in ("approve", "deny"):
        decide = approvals_sub.add_parser(verb, help=f"{verb} request ID")
        decide.add_argument("request_id", type=int, metavar="ID")
        decide.add_argument("--reason", help="sent back to the agent")
        if verb == "approve":
            decide.add_argument(
                "--edit",
                metavar="JSON",
                help="approve with these fields of the action's data changed, e.g. "
                '\'{"command": "git push origin feature"}\' (judged by the policy again; '
                "the agent acts on the edited data)",
            )
            decide.add_argument("--comment", help="sent back to the agent with the edit")
    stats = approvals_sub.add_parser(
        "stats", help="requests by outcome and type, time to decide (as /autoaccept stats)"
    )
    stats.add_argument("--days", type=int, metavar="N", help="only the last N days (1-3650)")
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    grant = approvals_sub.add_parser(
        "grant",
        help="approve request ID and let its agent's requests of that type through "
        "without asking, for approvals.session_minutes (the prompt's 'Approve for this agent')",
        description="Approve request ID and let its agent's requests of that action type "
        "through without asking: for approvals.session_minutes, or until revoked with "
        "--always (Discord's 'Approve for this agent' and 'Always allow'). Not offered where "
        "the request's rule wants more than one approver. A grant never lifts a deny.",
    )
    grant.add_argument("request_id", type=int, metavar="ID")
    grant.add_argument(
        "--always", action="store_true", help="until revoked (the prompt's 'Always allow')"
    )
    revoke = approvals_sub.add_parser(
        "revoke",
        help="end grant GRANT_ID: its agent's requests ask again (as /autoaccept revoke)",
    )
    revoke.add_argument(
        "grant_id", type=int, metavar="GRANT_ID", help="the grant's number (chatops policy show)"
    )


def _cache(sub: Any) -> None:
    cache = sub.add_parser(
        "cache", help="the agents' task cache: stats, list, preview, clean, clear, delete"
    )
    cache_sub = cache.add_subparsers(dest="cache_command", required=True, metavar="COMMAND")
    for name, text in (("stats", "size, count, per agent type"), ("list", "every entry")):
        command = cache_sub.add_parser(name, help=text)
        command.add_argument("--json", action="store_true", help="machine-readable output")
    for name, text in (
        ("clean", "remove entries past max_age_days, then the oldest while over the threshold"),
        ("clear", "remove every entry that is not running"),
        ("autoclean", "run the auto-clean now: the oldest while over the threshold"),
    ):
        command = cache_sub.add_parser(name, help=text)
        command.add_argument("--dry-run", action="store_true", help="print the plan only")
        command.add_argument("--yes", action="store_true", help="do not ask before deleting")
        command.add_argument(
            "--host", metavar="HOST", help="on a hub: that edge's cache, cleaned there"
        )
    preview = cache_sub.add_parser("preview", help="an entry's files and first lines")
    preview.add_argument("task_id", metavar="TASK_ID", help="the entry (chatops cache list)")
    preview.add_argument("--lines", type=int, default=5, choices=range(1, 51), metavar="N")
    preview.add_argument("--json", action="store_true", help="machine-readable output")
    delete = cache_sub.add_parser("delete", help="delete one entry (shows it, asks first)")
    delete.add_argument("task_id", metavar="TASK_ID", help="the entry (chatops cache list)")
    delete.add_argument("--force", action="store_true", help="also when its task is running")
    delete.add_argument("--yes", action="store_true", help="do not ask before deleting")


def _quota(sub: Any) -> None:
    quota = sub.add_parser("quota", help="every quota pool and budget: %% left, reset, runway")
    quota.add_argument("--json", action="store_true", help="machine-readable output")
    quota_sub = quota.add_subparsers(dest="quota_command", metavar="COMMAND")
    budget = quota_sub.add_parser(
        "set",
        help="change a budget's limit or thresholds (as /quota set)",
        description="Change budget NAME's limit or alert thresholds at runtime, as /quota set "
        "does: validated like the config, kept across restarts, recorded as cli (uid, pid). "
        "Through the running controller, as its operator.",
    )
    budget.add_argument("name", metavar="NAME", help="the budget (chatops quota)")
    budget.add_argument("--limit", type=float, metavar="X", help="the new limit")
    budget.add_argument("--thresholds", metavar="30,10", help="%% left that alert, e.g. 30,10")


def _recover(sub: Any) -> None:
    recover = sub.add_parser(
        "recover", help="reset the fleet's statuses; clean up stale resources (as /recover)"
    )
    recover_sub = recover.add_subparsers(dest="recover_command", required=True, metavar="COMMAND")
    recover_sub.add_parser(
        "reset-status",
        help="drop the statuses in memory, ask connected bots to register again",
    )
    cleanup = recover_sub.add_parser(
        "cleanup",
        help="show stale resources (long-offline bots, dead sockets, orphan cache folders), "
        "then remove exactly those",
    )
    cleanup.add_argument("--dry-run", action="store_true", help="print the plan only")
    cleanup.add_argument("--yes", action="store_true", help="do not ask before removing")


def _silences(sub: Any) -> None:
    duration = "how long: 90s, 30m, 2h, 1d, 1h30m, or a bare number of minutes (at most 30 days)"
    silence = sub.add_parser(
        "silence",
        help="hold one bot's alerts for a while (as /silence)",
        description="Hold one bot's alerts (all of them, or one incident kind) for DURATION, "
        "as /silence does. Incidents are still recorded; only notifications wait. The bot must "
        "be one the controller knows. Through the running controller, as its operator.",
    )
    silence.add_argument("bot", metavar="BOT", help="the bot, by its name (chatops status)")
    silence.add_argument("duration", metavar="DURATION", help=duration)
    silence.add_argument(
        "--kind", help="only this incident kind of its alerts (down, restart); all if left out"
    )
    silence.add_argument("--reason", metavar="TEXT", help="why, shown beside the silence")
    maintenance = sub.add_parser(
        "maintenance",
        help="hold every alert for a while (as /maintenance)",
        description="Hold every alert, of every bot, for DURATION, as /maintenance does: "
        "nothing reaches the channel or the webhooks until it ends (or chatops unsilence ID).",
    )
    maintenance.add_argument("duration", metavar="DURATION", help=duration)
    maintenance.add_argument("--reason", metavar="TEXT", help="why, shown beside the silence")
    unsilence = sub.add_parser("unsilence", help="end silence ID early (as /unsilence)")
    unsilence.add_argument(
        "silence_id", type=int, metavar="ID", help="the silence's number (chatops silences)"
    )
    silences = sub.add_parser("silences", help="the active silences (as /silences)")
    silences.add_argument("--json", action="store_true", help="machine-readable output")


def _web(sub: Any) -> None:
    web = sub.add_parser(
        "web", help="the web dashboard: a one-time login link; list and revoke sessions"
    )
    web_sub = web.add_subparsers(dest="web_command", required=True, metavar="COMMAND")
    login = web_sub.add_parser(
        "login",
        help="print a one-time link that signs you in to the web dashboard (as /web login)",
        description="Print a one-time link to the web dashboard, for you at this shell "
        "(recorded as cli (uid …)): open it within web.link_minutes and press Sign in; it "
        "opens a session of web.session_hours. Admin by default: the controller's own user may "
        "change anything already. Through the running controller, as its operator; an "
        "approver's or admin's link follows approvals.socket_decisions as deciding a request "
        "does (from a terminal by default). Exit 1 while http.listen is empty (no dashboard).",
    )
    login.add_argument(
        "--role",
        choices=("viewer", "approver", "admin"),
        default="admin",
        help="what the session may do: viewers read, approvers decide approval requests, "
        "admins change things (default: admin)",
    )
    sessions = web_sub.add_parser(
        "sessions",
        help="the live web sessions; revoke one (as /web sessions)",
        description="List the live web sessions (id, person, role, signed in, expires, last "
        "seen), or, with revoke ID, end one now. Through the running controller, as its "
        "operator.",
    )
    sessions.add_argument("--json", action="store_true", help="machine-readable output")
    sessions_sub = sessions.add_subparsers(dest="sessions_command", metavar="COMMAND")
    revoke = sessions_sub.add_parser(
        "revoke", help="end web session ID now: its next request is refused"
    )
    revoke.add_argument(
        "session_id", type=int, metavar="ID", help="the session's number (chatops web sessions)"
    )


def _edge(sub: Any) -> None:
    edge = sub.add_parser(
        "edge",
        help="run this host as an edge of a hub (nats.url); manage hosts' NATS credentials",
        description="Without a command: run this host's controller as an edge (its socket, "
        "ownership, pid watching, restarts and cache, all local) reporting to its hub over "
        "NATS (nats.url; edge.name is this host's name, default the hostname). No Discord and "
        "no alerting of its own: the hub alerts for the whole fleet.",
    )
    edge_sub = edge.add_subparsers(dest="edge_command", metavar="COMMAND")
    credentials = edge_sub.add_parser(
        "credentials",
        help="create or revoke a host's NATS credential (an nkey), where nats-server runs",
        description="Writes HOST.nk (the host's nkey seed: copy it to that host) and "
        "users.conf (every host's public key and the subjects it may use: include it from "
        "nats-server.conf) in nats.credentials_dir; signals nats-server to reload when "
        "nats.server_pid_file is set, so a revoked host is disconnected at once.",
    )
    credentials_sub = credentials.add_subparsers(
        dest="credentials_command", required=True, metavar="COMMAND"
    )
    for verb, text in (
        ("create", "a new credential for HOST (replaces its old one)"),
        ("revoke", "remove HOST's credential: it is disconnected and cannot sign in"),
    ):
        command = credentials_sub.add_parser(verb, help=text)
        command.add_argument("host", metavar="HOST", help="the host's edge.name")
