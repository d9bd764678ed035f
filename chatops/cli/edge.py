"""``chatops edge`` — run this host's controller as an edge of a hub — and ``chatops edge
credentials create|revoke HOST``, run where nats-server's config lives.

An edge is the controller core with its socket, ownership, pid watching, restarts and cache, all
local; no Discord and no alerting of its own (its hub alerts for the whole fleet). It needs
``nats.url``; ``edge.name`` is its host's name in the fleet (default: the hostname).
"""

from __future__ import annotations

import argparse
import logging
import sys

from chatops.cli import EXIT_CONFIG, EXIT_RUNTIME
from chatops.config import Settings
from chatops.presentation.formatting import plural

log = logging.getLogger(__name__)


def edge_command(settings: Settings, args: argparse.Namespace) -> int:
    if args.edge_command == "credentials":
        return _credentials(settings, args)
    if settings.nats.url is None:
        print("chatops: chatops edge needs nats.url (its hub's NATS server)", file=sys.stderr)
        return EXIT_CONFIG
    from chatops.cli.run import serve

    return serve(run_edge(settings), settings)


def edge_settings(settings: Settings) -> Settings:
    """The edge's settings: its hub alerts and talks to Discord, so it does neither."""
    alerts = settings.alerts.model_copy(update={"webhook_urls": [], "alertmanager_urls": []})
    discord = settings.discord.model_copy(update={"token": None})
    return settings.model_copy(update={"alerts": alerts, "discord": discord})


async def run_edge(settings: Settings) -> None:
    from chatops.api.door import SocketDoor
    from chatops.cli.run import run_until_stopped
    from chatops.composition.controller import Controller
    from chatops.nats.edge import EdgeLink
    from chatops.web.door import HttpDoor

    controller = Controller(
        edge_settings(settings),
        socket_door=SocketDoor,
        http_door=HttpDoor,
        role="edge",
        links=[EdgeLink],
    )
    await run_until_stopped(controller, f"as the edge {settings.edge.name} of {settings.nats.url}")


def _tell_hub(settings: Settings, host: str) -> str:
    """The running hub marks the host down now rather than after ``host_timeout``."""
    from chatops.client.blocking import MonitorError, request
    from chatops.wire.protocol import HostRevoked

    try:
        reply = request(settings.monitoring.socket_path, HostRevoked(host=host), timeout=5.0)
    except OSError:
        return "the hub is not running here: it will call the host down once it is silent"
    except MonitorError as exc:
        return f"the hub was not told: {exc}"
    return f"the hub reports it down now ({plural(reply['bots'], 'bot')} unreachable)"


def _credentials(settings: Settings, args: argparse.Namespace) -> int:
    from chatops.nats.credentials import BadHostName, CredentialError, Credentials

    credentials = Credentials(settings)
    try:
        if args.credentials_command == "create":
            written = credentials.create(args.host)
            print(f"{written.seed_file}: the nkey seed for host {args.host} (secret, mode 0600)")
            print("  copy it to that host and set nats.credentials to its path there;")
            print(f"  set edge.name: {args.host} there too")
        else:
            written = credentials.revoke(args.host)
            print(f"host {args.host}: credential revoked")
            print(_tell_hub(settings, args.host))
    except (CredentialError, OSError) as exc:
        print(f"chatops: {exc}", file=sys.stderr)
        return EXIT_CONFIG if isinstance(exc, BadHostName) else EXIT_RUNTIME
    print(f"{written.users_conf}: the users nats-server allows (include it in its config)")
    if written.reloaded:
        print("nats-server reloaded: the change is in force")
    else:
        print("reload nats-server to apply it: nats-server --signal reload")
    return 0
