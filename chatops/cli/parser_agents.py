"""The coding-agent commands' arguments: ``hook``, ``statusline``, ``watch``, ``setup`` and
``agents``. Agents run the first three themselves (from their settings), so their names and
options are what users' settings files depend on."""

from __future__ import annotations

import argparse
from typing import Any

from chatops.records.replies import DEFAULT_MAX_REPLIES, MAX_REPLY_WAIT


def add_agent_commands(sub: Any) -> None:
    _agents(sub)
    _hook(sub)
    _statusline(sub)
    _watch(sub)
    _setup(sub)


def _hook_options(parser: argparse.ArgumentParser, default_name: str) -> None:
    """What every agent's hook takes: the session's name and how long a human may take."""
    parser.add_argument("--agent", help=f"the session's name in chatops (default: {default_name})")
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for a human (then deny)"
    )


def _agents(sub: Any) -> None:
    agents = sub.add_parser("agents", help="coding-agent sessions: answer one (as /agent reply)")
    agents_sub = agents.add_subparsers(dest="agents_command", required=True, metavar="COMMAND")
    reply = agents_sub.add_parser(
        "reply",
        help="send words to a session that waits or finished (as Discord's Reply button)",
        description="Send TEXT to the coding-agent session NAME: its Stop hook, run with "
        "--wait-reply, hands them to the agent, which goes on with them. Sent while no hook "
        "waits, they are kept until one does, or until the session moves on or ends. Through "
        "the running controller, as its operator (approvals.socket_decisions, as deciding a "
        "request does).",
    )
    reply.add_argument("name", metavar="NAME", help="the session's name (chatops status)")
    reply.add_argument(
        "text", metavar="TEXT", help="the words (at most 4000 characters; - reads stdin)"
    )


def _hook(sub: Any) -> None:
    hook = sub.add_parser("hook", help="permission hooks for coding agents")
    hook_sub = hook.add_subparsers(dest="hook_command", required=True, metavar="COMMAND")
    claude = hook_sub.add_parser(
        "claude-code", help="Claude Code's hooks, every event (the event on stdin)"
    )
    _hook_options(claude, "its project directory's name")
    claude.add_argument(
        "--wait-reply",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help=f"on Stop, wait this long (at most {MAX_REPLY_WAIT:g}) for the operator's reply from "
        "Discord or chatops agents reply, and continue the session with it (default 0: do not "
        "wait)",
    )
    claude.add_argument(
        "--max-replies",
        type=int,
        default=DEFAULT_MAX_REPLIES,
        metavar="N",
        help="continue a session with replies at most N times in a row (default "
        f"{DEFAULT_MAX_REPLIES})",
    )
    codex = hook_sub.add_parser(
        "codex", help="Codex's hooks: the session, and PermissionRequest answered by chatops"
    )
    _hook_options(codex, "its working directory's name")


def _statusline(sub: Any) -> None:
    statusline = sub.add_parser(
        "statusline", help="status-line commands for coding agents (they feed chatops quotas)"
    )
    statusline_sub = statusline.add_subparsers(
        dest="statusline_command", required=True, metavar="COMMAND"
    )
    claude = statusline_sub.add_parser(
        "claude-code",
        help="Claude Code's statusLine command (the session on stdin)",
        description="Report the session, its plan's 5-hour and 7-day windows and its running "
        "cost to the controller (skipped silently when it is away), then print a status line: "
        "chatops's own, or --then CMD's output.",
    )
    claude.add_argument(
        "--agent", help="the session's name in chatops (default: the project folder's name)"
    )
    claude.add_argument(
        "--then",
        metavar="CMD",
        help="your own status-line command: run with the same JSON, its output printed instead",
    )


def _watch(sub: Any) -> None:
    watch = sub.add_parser("watch", help="follow a coding agent's logs for its quotas and usage")
    watch_sub = watch.add_subparsers(dest="watch_command", required=True, metavar="COMMAND")
    codex = watch_sub.add_parser(
        "codex",
        help="follow Codex's session logs (~/.codex/sessions) and report its rate limits",
        description="Register as a bot, then for every token_count event in Codex's rollout "
        "files report the pools codex primary / codex secondary and the session's running "
        "token totals. Runs until interrupted.",
    )
    codex.add_argument("--agent", default="codex", help="the bot's name in chatops")
    codex.add_argument(
        "--sessions",
        metavar="DIR",
        help="the sessions folder (default: $CODEX_HOME/sessions, else ~/.codex/sessions)",
    )


def _seconds(value: str) -> float:
    """A positive number of seconds, at most what the hook waits for a reply."""
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not 0 < seconds <= MAX_REPLY_WAIT:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not between 0 and {MAX_REPLY_WAIT:g} seconds"
        )
    return seconds


def _setup(sub: Any) -> None:
    setup = sub.add_parser(
        "setup", help="install chatops's hooks in Claude Code's or Codex's settings"
    )
    setup_sub = setup.add_subparsers(dest="setup_command", required=True, metavar="COMMAND")
    write = "write the file (after a backup beside it); without it, print what would be written"
    agent = "the agent's name in chatops (default: the hook's own)"
    claude = setup_sub.add_parser(
        "claude-code",
        help="merge chatops's hooks and status line into Claude Code's settings.json",
        description="Merge chatops's hooks (SessionStart, SessionEnd, Notification, Stop, "
        "SubagentStop, PreToolUse, PermissionRequest, PostToolUse, StopFailure) and status line "
        "into ~/.claude/settings.json (or a project's, or --settings PATH). Everything else in "
        "the file is kept; chatops's own entries are replaced in place, so running it again "
        "changes nothing; a status line of yours keeps running after chatops's (--then).",
    )
    where = claude.add_mutually_exclusive_group()
    where.add_argument("--project", metavar="DIR", help="DIR/.claude/settings.json instead")
    where.add_argument("--settings", metavar="PATH", help="this settings file instead")
    claude.add_argument("--agent", metavar="NAME", help=agent)
    claude.add_argument(
        "--wait-reply",
        type=_seconds,
        metavar="SECONDS",
        help="the Stop hook waits this long for a reply from chat",
    )
    claude.add_argument("--write", action="store_true", help=write)
    codex = setup_sub.add_parser(
        "codex",
        help="merge chatops's hooks into Codex's hooks.json",
        description="Merge chatops's hooks (SessionStart, PreToolUse, PermissionRequest, Stop) "
        "into $CODEX_HOME/hooks.json (default ~/.codex/hooks.json), keeping everything else. "
        "Codex runs a new or changed hook once you trust it in Codex.",
    )
    codex.add_argument("--agent", metavar="NAME", help=agent)
    codex.add_argument("--write", action="store_true", help=write)
