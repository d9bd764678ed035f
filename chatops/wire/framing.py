"""Newline framing with a bound on how long one line may grow."""

from __future__ import annotations


class LineFramer:
    """Splits a byte stream into lines and bounds how long one may grow.

    ``feed`` returns the complete lines and whether the limit was crossed; the lines before the
    crossing are still returned so a well-formed pipeline ahead of a bad line is not lost.
    """

    __slots__ = ("_buffer", "max_line")

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self._buffer = b""

    def feed(self, data: bytes) -> tuple[list[bytes], bool]:
        if self._buffer:
            data = self._buffer + data
        parts = data.split(b"\n")
        self._buffer = parts.pop()
        limit = self.max_line
        lines: list[bytes] = []
        for part in parts:
            if len(part) > limit:
                return lines, True
            if part and part != b"\r":
                lines.append(part)
        if len(self._buffer) > limit:
            return lines, True
        return lines, False
