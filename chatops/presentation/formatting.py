"""Human-readable durations and sizes, and URLs without their secret, shared by the CLI, alerts,
Discord views and the doctor."""

from __future__ import annotations

from urllib.parse import urlsplit


def noun(count: int, singular: str, many: str | None = None) -> str:
    """The noun that agrees with ``count``: ``entry`` for 1, ``entries`` otherwise (and 0).
    ``many`` when adding ``s`` is wrong; ``-y`` after a consonant and ``-s``/``-x``/``-ch``/
    ``-sh`` endings are known."""
    if count == 1:
        return singular
    if many is not None:
        return many
    if singular.endswith("y") and singular[-2:-1] not in ("a", "e", "i", "o", "u"):
        return singular[:-1] + "ies"
    if singular.endswith(("s", "x", "sh", "ch")):
        return singular + "es"
    return singular + "s"


def plural(count: int, singular: str, many: str | None = None) -> str:
    """``1 entry``, ``2 entries``, ``0 bots``, ``1,204 calls``: a count and its noun, agreeing."""
    return f"{count:,} {noun(count, singular, many)}"


def percent(fraction: float) -> str:
    """``72%``: the one way a share is written (no space, no decimals), in every view."""
    return f"{fraction:.0%}"


def describe_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def parse_duration(text: str) -> float:
    """``90s``, ``15m``, ``2h``, ``1d``, ``1h30m`` or a bare number of minutes, to seconds.

    Raises ValueError with a message fit to show the operator."""
    text = text.strip().lower().replace(" ", "")
    if not text:
        raise ValueError("empty duration")
    if text.replace(".", "", 1).isdigit():
        return float(text) * 60
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    total, number = 0.0, ""
    for char in text:
        if char.isdigit() or char == ".":
            number += char
        elif char in units and number:
            total += float(number) * units[char]
            number = ""
        else:
            raise ValueError(f"cannot read duration {text!r}; try 30m, 2h or 1d")
    if number:
        raise ValueError(f"cannot read duration {text!r}; a number needs a unit (s, m, h, d, w)")
    if total <= 0:
        raise ValueError("a duration must be positive")
    return total


_MARKDOWN = frozenset("\\*_~`|>[]()#-<")


def discord_text(text: str) -> str:
    """``text`` as it should appear inside a Discord message or embed: markdown characters are
    backslash-escaped (a bot's name cannot bold, link or quote anything) and every ``@`` is
    followed by a zero-width space (it can never mention @everyone, a role or a user)."""
    escaped = "".join(f"\\{char}" if char in _MARKDOWN else char for char in text)
    return escaped.replace("@", "@\u200b")


def terminal_text(text: str) -> str:
    """``text`` safe to print on a terminal: control characters are shown as ``\\xNN`` escapes,
    never written raw (a name stored by an older version cannot move the cursor or recolour)."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else f"\\x{ord(char):02x}" for char in text)


def progress_bar(fraction: float, width: int = 10) -> str:
    """``▰▰▰▱▱▱▱▱▱▱ 30%``: how full something is, readable in a terminal and on a phone."""
    fraction = min(1.0, max(0.0, fraction))
    filled = round(fraction * width)
    return "▰" * filled + "▱" * (width - filled) + f" {percent(fraction)}"


def size_text(size: float) -> str:
    """``812 B``, ``12.4 kB``, ``1,204.5 MB``: binary units, as the cache thresholds are."""
    if size < 1024:
        return f"{size:.0f} B"
    if size < 1_048_576:
        return f"{size / 1024:.1f} kB"
    return f"{size / 1_048_576:,.1f} MB"


def no_controller(socket_path: object, exc: BaseException) -> str:
    """Why a command that needs the running controller got nothing: where it looked, and what
    the socket said (``no such file``: not running, or another config's socket)."""
    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"no controller answers on {socket_path} ({why}); is 'chatops run' up with this config?"


def redact_url(url: str) -> str:
    """Scheme and host only: a webhook URL carries its secret in the path."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}/…"


def host_port(host: str, port: int) -> str:
    """``127.0.0.1:9464``, ``[::1]:9464``: an address as a URL or a log line writes it."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
