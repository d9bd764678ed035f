"""What ``/recover reset-status`` and ``/recover cleanup`` report, in the same words for the cog
and ``chatops recover`` (a :class:`~chatops.presentation.markup.Markup` for each)."""

from __future__ import annotations

from collections.abc import Sequence

from chatops.presentation.formatting import plural
from chatops.presentation.markup import Markup


def reset_text(reloaded: int, asked_to_register: int) -> str:
    return (
        f"Statuses reset: {reloaded} read again from the database, "
        f"{plural(asked_to_register, 'connected bot')} asked to register again."
    )


def cleanup_text(
    stale_bots: Sequence[str],
    dead_sockets: Sequence[str],
    orphan_cache_folders: Sequence[str],
    vacuum: bool,
    markup: Markup,
    *,
    names: int = 15,
    width: int = 500,
) -> str:
    """One line per kind of stale resource, with the first ``names`` of each."""

    def listed(items: Sequence[str]) -> str:
        return (", ".join(markup.text(i) for i in items[:names]) or "none")[:width]

    return (
        f"bots offline too long: {listed(stale_bots)}\n"
        f"dead socket files: {listed(dead_sockets)}\n"
        f"orphan cache folders: {listed(orphan_cache_folders)}\n"
        f"VACUUM worth it: {'yes' if vacuum else 'no'}"
    )
