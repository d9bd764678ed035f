"""Many hosts in ``/metrics``: on a hub, each edge's state and cache; on any controller, the
events it still owes its hub. One series per host (hundreds, not per bot)."""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily, Metric

from chatops.services.hosts import HostsService
from chatops.services.outbox import EdgeOutbox


def host_families(hosts: HostsService | None, outbox: EdgeOutbox) -> list[Metric]:
    owed = GaugeMetricFamily(
        "chatops_edge_outbox_events",
        "Events this edge has queued for its hub that JetStream has not stored yet.",
    )
    owed.add_metric([], len(outbox))
    if hosts is None:
        return [owed]
    up = GaugeMetricFamily(
        "chatops_host_up",
        "1 while the hub hears from the host's edge, 0 once it is down.",
        labels=["host"],
    )
    bots = GaugeMetricFamily(
        "chatops_host_bots",
        "Bots the host's edge supervises, as the hub knows them.",
        labels=["host"],
    )
    cache = GaugeMetricFamily(
        "chatops_host_cache_size_bytes",
        "Bytes of the host's task cache (its index).",
        labels=["host"],
    )
    per_host, counts = hosts.cache_by_host(), hosts.bots_by_host()
    for name, known in sorted(hosts.hosts.items()):
        up.add_metric([name], 0.0 if known.down else 1.0)
        bots.add_metric([name], counts[name])
        cache.add_metric([name], per_host.get(name, (0, 0))[1])
    return [owed, up, bots, cache]
