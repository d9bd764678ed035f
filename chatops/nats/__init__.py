"""Many hosts, one fleet: the link between ``chatops edge`` on each host and its hub, over
NATS (see ``README.md``, "Many hosts"). Nothing here decides anything: beats, events and
commands are carried to and from the services."""

from __future__ import annotations

from typing import Any

from chatops.config import Settings


def hub_options(settings: Settings) -> dict[str, Any]:
    """What ``chatops run`` hands its controller: a hub's role and link when ``nats.url`` is
    set, nothing otherwise (one host, as always)."""
    if settings.nats.url is None:
        return {}
    from chatops.nats.hub import HubLink

    return {"role": "hub", "links": [HubLink]}
