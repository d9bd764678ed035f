"""How a door marks text up: the same sentence, bold and escaped in Discord, plain and escaped
in a terminal. A renderer shared by the CLI and the cogs takes one of these."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chatops.presentation.formatting import discord_text, terminal_text


@dataclass(frozen=True, slots=True)
class Markup:
    text: Callable[[str], str]
    """Anything that came from outside (a name, a reason), made safe to show."""
    bold: Callable[[str], str]
    code: Callable[[str], str]
    """An identifier (a task id) as code where the medium has it, made safe by itself (Discord
    shows escapes inside code as they are)."""


DISCORD = Markup(
    text=discord_text,
    bold=lambda text: f"**{text}**",
    code=lambda text: "`" + text.replace("`", "'") + "`",
)
TERMINAL = Markup(text=terminal_text, bold=lambda text: text, code=terminal_text)
