"""A reader that closes its end early (``chatops policy show | head``) is not an error.

Python ignores SIGPIPE, so a write to a closed pipe raises :class:`BrokenPipeError`, an
:class:`OSError`; and a command that catches ``OSError`` around a socket request would take it
for the controller not answering. :func:`stdout_guard` turns it into :class:`ReaderGone`, which
no command catches, and ends the command quietly where it stands, once for every command: the
rest of the output goes to ``/dev/null`` (so the interpreter's own flush at exit cannot raise
again and print "Exception ignored") and the exit status is 0, as the reader chose to stop
(a command that had finished, its output only still buffered, keeps its own status).
This is the recipe of the Python documentation (``signal``, "Note on SIGPIPE").
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

EXIT_READER_GONE = 0


class ReaderGone(Exception):
    """Standard output's reader has gone away. Deliberately not an ``OSError``."""


class _Guarded:
    """Standard output, whose writes raise :class:`ReaderGone` instead of a pipe error."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError as exc:
            raise ReaderGone from exc

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError as exc:
            raise ReaderGone from exc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def stdout_guard() -> Iterator[None]:
    """Run a command with standard output guarded: a gone reader ends the block quietly, and
    the command then exits with :data:`EXIT_READER_GONE`."""
    real = sys.stdout
    sys.stdout = _Guarded(real)
    try:
        yield
        real.flush()  # what is still buffered meets the closed pipe here, not at exit
    except (ReaderGone, BrokenPipeError):
        _silence(real)
    finally:
        if isinstance(sys.stdout, _Guarded):
            sys.stdout = real


def _silence(stream: TextIO) -> None:
    """Point standard output's descriptor at /dev/null: nothing more reaches the closed pipe,
    and the interpreter's last flush finds somewhere to write."""
    try:
        fileno = stream.fileno()
    except (AttributeError, ValueError, OSError):
        return  # not a real file (a test's capture): nothing will flush it at exit
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fileno)
    finally:
        os.close(devnull)
