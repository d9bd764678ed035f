"""What the settings imply for the composition, beyond building what they name: the open-file
limit the socket needs, whether approvers can be told of a request, when a host is down."""

from __future__ import annotations

import logging
import resource

from chatops.config import Settings

log = logging.getLogger(__name__)


def raise_fd_limit(wanted: int) -> None:
    """Let the process hold ``max_connections`` sockets (plus its own files), so the excess is
    answered ``too_many_connections`` by the server rather than failed by accept()."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted or soft == resource.RLIM_INFINITY:
        return
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < wanted:
        log.warning(
            "open-file limit %d is below max_connections + 256 (%d); lower max_connections "
            "or raise the limit (ulimit -n)",
            target,
            wanted,
        )


def host_timeout(settings: Settings) -> float:
    """``nats.host_timeout``, else three of an edge's beats (at least 5 s): a host is down
    after missing three, not one."""
    configured = settings.nats.host_timeout
    return configured or max(5.0, 3 * beat_interval(settings))


def beat_interval(settings: Settings) -> float:
    """How often an edge tells its hub it is there: with its bots' heartbeats, at least every
    5 s, so a host that goes away is known within seconds even when bots beat every minute."""
    return min(settings.monitoring.heartbeat_interval, 5.0)


def approvers_can_be_told(settings: Settings) -> bool:
    """Whether a request for a human reaches one: a Discord channel for its prompt (the bot
    runs with a token), a webhook that announces it, or the web dashboard's approvals page."""
    discord = settings.discord
    prompts = discord.token is not None and (
        discord.approval_channel_id is not None or discord.alert_channel_id is not None
    )
    return prompts or bool(settings.alerts.webhook_urls) or bool(settings.http.listen)
