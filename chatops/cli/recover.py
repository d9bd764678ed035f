"""``chatops recover reset-status`` and ``chatops recover cleanup``: what ``/recover
reset-status`` and ``/recover cleanup`` do, from a shell.

Both act on the running controller (the statuses live in its memory), through the operator's
narrow door; with none answering: one line and exit 3. ``cleanup`` shows the plan (a dry run),
asks unless ``--yes``, then sends that same plan back (``cleanup_execute``): exactly what was
shown is removed, each item checked again, never a fresh look that may find more. A refusal is
printed as it comes, with exit 1."""

from __future__ import annotations

import argparse
from typing import Any

from chatops.cli.asking import ask
from chatops.cli.prompts import confirm
from chatops.config import Settings
from chatops.presentation.markup import TERMINAL
from chatops.presentation.recovery import cleanup_text, reset_text
from chatops.wire.protocol import CleanupExecute, CleanupStale, ResetStatusCache

SLOW = 300.0


def recover_command(settings: Settings, args: argparse.Namespace) -> int:
    socket_path = settings.monitoring.socket_path
    if args.recover_command == "reset-status":
        reply = ask(socket_path, ResetStatusCache(), timeout=SLOW)
        print(reset_text(reply["reloaded"], reply["asked_to_register"]))
        return 0
    return _cleanup(socket_path, args)


def _cleanup(socket_path: Any, args: argparse.Namespace) -> int:
    plan = ask(socket_path, CleanupStale(dry_run=True), timeout=SLOW)
    print("Stale resources\n" + _text(plan))
    if args.dry_run:
        return 0
    if not args.yes and not confirm("Clean up?"):
        print("Nothing removed.")
        return 0
    done = ask(
        socket_path,
        CleanupExecute(
            stale_bots=plan["stale_since"],
            dead_sockets=plan["dead_sockets"],
            orphan_cache_folders=plan["orphan_cache_folders"],
            vacuum=plan["vacuum"],
        ),
        timeout=SLOW,
    )
    print("Done.\n" + _text(done))
    return 0


def _text(report: dict[str, Any]) -> str:
    return cleanup_text(
        report["stale_bots"],
        report["dead_sockets"],
        report["orphan_cache_folders"],
        report["vacuum"],
        TERMINAL,
        names=50,
        width=4000,
    )
