"""An action's data as an agent sends it: under the protocol's cap on its encoded size.

Apart from :mod:`chatops.client.approvals` (which builds the protocol's typed messages) so the
Claude Code hook can fit a file's content without importing the protocol.
"""

from __future__ import annotations

from typing import Any

CONTENT_CHARS = 16_384
"""A file's content beyond this is not sent: its size goes in ``file_size`` (the limits check
it), its start in ``content`` (the prompt shows it)."""


def fit_action_data(data: dict[str, Any]) -> dict[str, Any]:
    """Send the start of a large content, with its full size, under the protocol's cap."""
    content = data.get("content")
    if not isinstance(content, str) or len(content) <= CONTENT_CHARS:
        return dict(data)
    fitted = dict(data, content=content[:CONTENT_CHARS])
    fitted.setdefault("file_size", len(content.encode()))
    return fitted
