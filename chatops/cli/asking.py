"""One way for a command to ask the running controller.

A command calls :func:`ask` and gets the answer; a refusal or an absent controller is told on
stderr in one line and raised as :class:`CommandFailed`, which ``chatops``'s dispatch turns into
the exit status every command gives for the same trouble: 1 refused (the service's words), 3 no
controller answering.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from chatops.client.blocking import MonitorError, request
from chatops.presentation.formatting import no_controller, terminal_text
from chatops.wire.protocol import Message

EXIT_REFUSED = 1
EXIT_UNREACHABLE = 3


class CommandFailed(Exception):
    """Reported already; the command ends with ``status``."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def ask(socket_path: Path, message: Message, *, timeout: float = 10.0) -> dict[str, Any]:
    try:
        return request(socket_path, message, timeout=timeout)
    except MonitorError as exc:
        print(f"chatops: refused: {terminal_text(str(exc))}", file=sys.stderr)
        raise CommandFailed(EXIT_REFUSED) from None
    except OSError as exc:
        print(f"chatops: {no_controller(socket_path, exc)}", file=sys.stderr)
        raise CommandFailed(EXIT_UNREACHABLE) from None
