"""``chatops agents reply NAME TEXT``: answer a coding-agent session from a shell, as Discord's
Reply button and ``/agent reply`` do.

The words go to the session's ``Stop`` hook if it waits for them (``--wait-reply``), and the
session goes on with them; else they are kept until it next waits, or until it moves on without
them. Replying is an approver's right: from a shell, through the operator's narrow door, as
``chatops approvals approve`` is (``approvals.socket_decisions``; never from the session's own
process tree, session or process group). This module only renders the answer or the refusal.
"""

from __future__ import annotations

import argparse
import sys

from chatops.cli.asking import ask
from chatops.config import Settings
from chatops.presentation.formatting import terminal_text
from chatops.records.replies import MAX_REPLY_CHARS
from chatops.wire.protocol import AgentReply

EXIT_USAGE = 2


def agents_command(settings: Settings, args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.text == "-" else args.text
    if not text.strip() or len(text) > MAX_REPLY_CHARS:
        print(
            f"chatops: a reply is 1 to {MAX_REPLY_CHARS} characters (this one is {len(text)})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    reply = ask(settings.monitoring.socket_path, AgentReply(agent=args.name, text=text))
    name = terminal_text(str(reply.get("agent", args.name)))
    if reply.get("delivered"):
        print(f"{name}: reply delivered; the session goes on with it")
    else:
        print(f"{name}: reply kept until the session next waits for one")
    return 0
