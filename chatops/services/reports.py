"""Reports for operators: one bot in detail, resource use per feature, metric series.

Which features cost memory: for each feature, the mean RSS of the bots that have it on versus
those that don't (``translator +57 MB``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from chatops.records.fleet import BotDetail, MetricPoint
from chatops.services.agents import AgentService
from chatops.services.fleet import FleetService
from chatops.store import Store
from chatops.timeutil import Clock, wall_clock

DETAIL_EVENTS = 8
DETAIL_HOURS = 6


@dataclass(frozen=True, slots=True)
class FeatureImpact:
    feature: str
    bots_with: int
    bots_without: int
    rss_with: float
    rss_without: float | None
    cpu_with: float
    cpu_without: float | None

    @property
    def rss_delta(self) -> float | None:
        return None if self.rss_without is None else self.rss_with - self.rss_without


class ReportService:
    def __init__(
        self,
        store: Store,
        fleet: FleetService,
        agents: AgentService,
        *,
        clock: Clock = wall_clock,
    ) -> None:
        self._store = store
        self._queries = store.reports
        self._fleet = fleet
        self._agents = agents
        self._clock = clock

    async def bot_detail(self, channel: str, hours: float = DETAIL_HOURS) -> BotDetail | None:
        """One bot with its agents, its latest events and its metric series; None if unknown."""
        found = self._fleet.snapshot(channel)
        if not found:
            return None
        return BotDetail(
            bot=found[0],
            agents=self._agents.of_channel(channel),
            events=await self._store.fleet.recent_events(channel, limit=DETAIL_EVENTS),
            series=await self.metrics_series(channel, hours),
        )

    async def metrics_series(self, channel: str, hours: float) -> list[MetricPoint]:
        return await self._queries.metrics_series(channel, self._clock() - hours * 3600)

    async def feature_impact(self, hours: float = 24) -> list[FeatureImpact]:
        since = self._clock() - hours * 3600
        rss = await self._queries.average_rss(since)
        cpu = await self._queries.average_cpu(since)
        bots: list[tuple[str, float, float, set[str]]] = []
        for channel, avg_rss, features_json in rss:
            try:
                features = json.loads(features_json)
            except ValueError:
                features = {}
            enabled = {k for k, v in features.items() if v} if isinstance(features, dict) else set()
            bots.append((channel, avg_rss, cpu.get(channel, 0.0), enabled))
        names = sorted({f for *_, enabled in bots for f in enabled})
        impacts = []
        for name in names:
            with_ = [(r, c) for _, r, c, enabled in bots if name in enabled]
            without = [(r, c) for _, r, c, enabled in bots if name not in enabled]
            impacts.append(
                FeatureImpact(
                    feature=name,
                    bots_with=len(with_),
                    bots_without=len(without),
                    rss_with=_mean([r for r, _ in with_]) or 0.0,
                    rss_without=_mean([r for r, _ in without]),
                    cpu_with=_mean([c for _, c in with_]) or 0.0,
                    cpu_without=_mean([c for _, c in without]),
                )
            )
        return sorted(impacts, key=lambda i: -(i.rss_delta or 0.0))


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None
