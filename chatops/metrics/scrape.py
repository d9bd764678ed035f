"""One scrape of ``/metrics``: the services' figures gathered on the loop a chunk at a time,
then rendered (and compressed) in a thread, so a 10,000-bot fleet never holds the loop long.

Reading on the loop is what keeps a scrape safe: services change their state only on the loop,
so a chunk sees a consistent moment of each bot. The thread only formats what was gathered, plus
the event-fed metrics (prometheus_client's own, which lock) and the process collector.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
from collections.abc import Iterator

from prometheus_client import ProcessCollector, disable_created_metrics, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from chatops.composition.services import Services
from chatops.config.http import MetricsConfig
from chatops.metrics import families
from chatops.metrics.events import EventMetrics
from chatops.metrics.hosts import host_families

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The text exposition format every Prometheus reads."""
CHUNK = 1000
"""Bots gathered between two turns of the loop (about a millisecond's work)."""

# A ``_created`` series beside every counter and histogram doubles what Prometheus stores and
# tells it nothing the counter's reset does not.
disable_created_metrics()  # type: ignore[no-untyped-call]


class MetricsEndpoint:
    def __init__(
        self,
        services: Services,
        config: MetricsConfig,
    ) -> None:
        self._services = services
        self.events = EventMetrics(services.bus, config)
        self._process = ProcessCollector(registry=None)
        self._host = socket.gethostname()

    def close(self) -> None:
        self.events.close()

    async def render(self, *, compress: bool = False) -> bytes:
        gathered = await self.gather()
        scrape = _Scrape([*gathered, *self.events.registry.collect()], self._process)

        def render() -> bytes:
            text = generate_latest(scrape)
            return gzip.compress(text, compresslevel=1) if compress else text

        return await asyncio.to_thread(render)

    async def gather(self) -> list[Metric]:
        """Every scrape-time family, read on the loop, a chunk of bots at a time."""
        services = self._services
        now = services.clock()
        fleet = families.FleetFamilies(self._host)
        bots = list(services.fleet.bots.values())
        for start in range(0, len(bots), CHUNK):
            for bot in bots[start : start + CHUNK]:
                fleet.add(bot, now)
            await asyncio.sleep(0)
        agents = list(services.agents.agents.values())
        gathered = [*fleet.families(), *families.agent_families(agents)]
        await asyncio.sleep(0)
        self_metrics = services.self_metrics
        gathered += [
            *families.quota_families(services.quotas.summary()),
            families.pending_approvals(services.approvals.records.values()),
            *families.alert_families(services.alerts, services.delivery),
            *families.cache_families(services.cache),
            *host_families(services.hosts, services.outbox),
            *families.controller_families(
                self_metrics.socket(),
                self_metrics.commit_seconds,
                self_metrics.writer_backlog,
                services.health.current(),
            ),
        ]
        if services.alertmanager is not None:
            gathered += families.alertmanager_families(services.alertmanager)
        return gathered


class _Scrape:
    """What ``generate_latest`` walks: the gathered families, then the process's own."""

    def __init__(self, gathered: list[Metric], process: Collector) -> None:
        self._gathered = gathered
        self._process = process

    def collect(self) -> Iterator[Metric]:
        yield from self._gathered
        yield from self._process.collect()
