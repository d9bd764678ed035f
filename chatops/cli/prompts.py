"""Asking the operator at the terminal before a command deletes anything."""

from __future__ import annotations

from collections.abc import Callable


def confirm(question: str, ask: Callable[[str], str] = input) -> bool:
    """True only for an explicit yes; no answer (no terminal, end of input) is a no."""
    try:
        return ask(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False
