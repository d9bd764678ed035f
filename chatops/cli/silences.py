"""``chatops silence BOT DURATION``, ``maintenance DURATION``, ``unsilence ID`` and ``silences``:
what ``/silence``, ``/maintenance``, ``/unsilence`` and ``/silences`` do, from a shell.

Silences live in the running controller (its router holds what they cover), so every command
goes through it; none answers: one line and exit 3. Changing one goes through the operator's
narrow door (:class:`~chatops.services.operators.OperatorGate`: the controller's own uid, never
a connection that spoke as an agent), and is recorded as ``cli (uid …, pid …)``. The rules (the
30-day cap, a bot the fleet knows, a silence that is active) are the service's: its refusal is
printed as it comes, with exit 1. A duration reads as the cog's does
(:func:`~chatops.presentation.formatting.parse_duration`); one that does not read is a usage
error, exit 2."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from chatops.cli.asking import ask
from chatops.config import Settings
from chatops.presentation.formatting import parse_duration
from chatops.presentation.markup import TERMINAL
from chatops.presentation.silences import (
    NO_SILENCES,
    ended_text,
    silence_text,
    silenced_text,
    terminal_time,
)
from chatops.records.alerts import Silence
from chatops.wire.protocol import ListSilences, Maintenance, Message, SilenceBot, Unsilence

EXIT_USAGE = 2


def silences_command(settings: Settings, args: argparse.Namespace) -> int:
    try:
        message = _message(args)
    except ValueError as exc:
        print(f"chatops: invalid duration: {exc}", file=sys.stderr)
        return EXIT_USAGE
    socket_path = settings.monitoring.socket_path
    reply = ask(socket_path, message)
    now = time.time()
    if args.command == "silences":
        items = list(reply.get("silences", []))
        if args.json:
            print(json.dumps(items, indent=2))
        else:
            lines = [silence_text(silence_of(item), TERMINAL, terminal_time(now)) for item in items]
            print("\n".join(lines) or NO_SILENCES)
    elif args.command == "unsilence":
        print(ended_text(reply["silence"]["id"]))
    else:
        print(silenced_text(silence_of(reply["silence"]), TERMINAL, terminal_time(now)))
    return 0


def _message(args: argparse.Namespace) -> Message:
    """The request a command line names; ``ValueError`` for a duration that does not read."""
    if args.command == "silences":
        return ListSilences()
    if args.command == "unsilence":
        return Unsilence(silence=args.silence_id)
    seconds = parse_duration(args.duration)
    if args.command == "maintenance":
        return Maintenance(seconds=seconds, reason=args.reason)
    return SilenceBot(channel=args.bot, seconds=seconds, kind=args.kind, reason=args.reason)


def silence_of(item: dict[str, Any]) -> Silence:
    """A silence as the socket answers it (``silence_to_dict``)."""
    return Silence(
        id=item["id"],
        subject=item["subject"],
        kind=item["kind"],
        until=item["until"],
        created_at=item["created_at"],
        created_by=item["created_by"],
        reason=item["reason"],
    )
