"""What the restart policy publishes on the bus beyond a restart's own notices
(:class:`~chatops.records.fleet.RestartNotice`): that it gave up on a bot. The restart alerts
make it the bot's ``restart`` incident, which a restart that brings the bot back ends."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RestartFatal:
    """The policy will not restart ``channel`` again (it keeps exiting): supervisord's FATAL.
    A restart by hand is what is left."""

    ts: float
    channel: str
    reason: str
    """The policy's verdict, e.g. ``exited 5 times within 60s``."""
