"""The figures read at scrape time from what the services hold, as metric families.

Nothing here is updated per heartbeat: a scrape walks the fleet once. Bots are added a chunk at
a time (:class:`FleetFamilies`), so the caller can let the loop breathe between chunks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import cast

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.samples import Sample

from chatops.alerts.alertmanager import AlertmanagerPublisher
from chatops.alerts.delivery import AlertDelivery
from chatops.alerts.router import AlertRouter
from chatops.config.approvals import ActionType
from chatops.records.approvals import ApprovalRecord
from chatops.records.fleet import ALIVE_STATUSES, UP_STATUSES, AgentState, BotState, BotStatus
from chatops.runtime.stats import Buckets
from chatops.services.cache.manager import CacheManager
from chatops.services.health import Health
from chatops.services.quotas.service import QuotaView
from chatops.services.selfmetrics import SocketFigures

MB = 1_048_576


class FleetFamilies:
    """Per-bot series (labels ``bot`` and ``host``) and counts by status.

    :meth:`add` keeps one tuple of plain values per bot; the families built from them make
    their samples only as the exposition walks them (in the rendering thread), each freed as
    soon as it is written. Built ahead, 10,000 bots meant 120,000 objects for the garbage
    collector, whose full collections then held the loop for 100 ms.
    """

    def __init__(self, local_host: str) -> None:
        self._local_host = local_host
        self._rows: list[_BotRow] = []
        self._counts: Counter[str] = Counter()

    def add(self, bot: BotState, now: float) -> None:
        self._counts[bot.status] += 1
        alive = bot.status in ALIVE_STATUSES
        self._rows.append(
            (
                bot.channel,
                bot.host or self._local_host,
                str(bot.status),
                1.0 if bot.status in UP_STATUSES else 0.0,
                bot.last_heartbeat,
                None if bot.rss_mb is None else bot.rss_mb * MB,
                None if bot.cpu_pct is None else bot.cpu_pct / 100,
                max(0.0, now - bot.registered_at) if alive else None,
            )
        )

    def families(self) -> list[Metric]:
        rows = self._rows
        counts = GaugeMetricFamily(
            "chatops_bots", "Bots the controller knows, by status.", labels=["status"]
        )
        for status in BotStatus:
            counts.add_metric([str(status)], self._counts[status])
        return [
            _per_bot(
                "chatops_bot_up",
                "1 while the bot's heartbeats arrive (online or late), else 0.",
                rows,
                3,
            ),
            _per_bot(
                "chatops_bot_status",
                "1 for the bot's current status (online, late, stale, offline, down).",
                rows,
                None,
            ),
            _per_bot(
                "chatops_bot_last_heartbeat_timestamp_seconds",
                "When the bot's last heartbeat arrived (Unix time).",
                rows,
                4,
            ),
            _per_bot(
                "chatops_bot_resident_memory_bytes",
                "The bot's resident memory, as its last heartbeat reported it.",
                rows,
                5,
            ),
            _per_bot(
                "chatops_bot_cpu_usage_ratio",
                "The bot's CPU use as its last heartbeat reported it, in cores (1: one busy).",
                rows,
                6,
            ),
            _per_bot(
                "chatops_bot_uptime_seconds",
                "Seconds since the bot registered, while it is alive (online, late or stale).",
                rows,
                7,
            ),
            counts,
        ]


_BotRow = tuple[str, str, str, float, float, float | None, float | None, float | None]
"""bot, host, status, up, last heartbeat, RSS bytes, CPU ratio, uptime."""


def _per_bot(name: str, documentation: str, rows: list[_BotRow], column: int | None) -> Metric:
    """A gauge with one sample per row that has a value in ``column`` (None: the status
    family, 1 with a ``status`` label)."""
    family = Metric(name, documentation, "gauge")

    def samples() -> Iterator[Sample]:
        for row in rows:
            if column is None:
                yield Sample(name, {"bot": row[0], "host": row[1], "status": row[2]}, 1.0)
                continue
            value = cast("float | None", row[column])
            if value is not None:
                yield Sample(name, {"bot": row[0], "host": row[1]}, value)

    family.samples = cast(list[Sample], _Lazy(samples))
    return family


class _Lazy:
    """Iterable again and again, each time from a fresh generator (the exposition walks a
    family's samples once; a test's parser may walk them again)."""

    def __init__(self, make: Callable[[], Iterator[Sample]]) -> None:
        self._make = make

    def __iter__(self) -> Iterator[Sample]:
        return self._make()


def agent_families(agents: Iterable[AgentState]) -> list[Metric]:
    tasks = CounterMetricFamily(
        "chatops_agent_tasks",
        "Tasks an agent reported finished, by outcome (completed, failed); kept across restarts.",
        labels=["agent", "outcome"],
    )
    statuses = GaugeMetricFamily(
        "chatops_agents",
        "Agents by what they last said they do (idle, processing, error).",
        labels=["status"],
    )
    counts: Counter[str] = Counter()
    for agent in agents:
        counts[agent.status] += 1
        tasks.add_metric([agent.name, "completed"], agent.tasks_completed)
        tasks.add_metric([agent.name, "failed"], agent.tasks_failed)
    for status, count in sorted(counts.items()):
        statuses.add_metric([status], count)
    return [tasks, statuses]


def quota_families(views: Iterable[QuotaView]) -> list[Metric]:
    labels = ["quota", "kind"]
    remaining = GaugeMetricFamily(
        "chatops_quota_remaining_ratio",
        "What is left of a pool or budget (1 = all of it).",
        labels=labels,
    )
    used = GaugeMetricFamily(
        "chatops_quota_used",
        "What a pool or budget has used, in its unit.",
        labels=[*labels, "unit"],
    )
    limit = GaugeMetricFamily(
        "chatops_quota_limit", "A pool's or budget's limit, in its unit.", labels=[*labels, "unit"]
    )
    critical = GaugeMetricFamily(
        "chatops_quota_critical_threshold_ratio",
        "The remaining ratio at or under which the quota is critical.",
        labels=labels,
    )
    resets = GaugeMetricFamily(
        "chatops_quota_reset_timestamp_seconds",
        "When the quota resets (Unix time), if known.",
        labels=labels,
    )
    burn = GaugeMetricFamily(
        "chatops_quota_burn_rate_ratio_per_second",
        "How fast the quota is being used: its ratio used per second over the burn window.",
        labels=labels,
    )
    exhausted = GaugeMetricFamily(
        "chatops_quota_exhaustion_timestamp_seconds",
        "When the quota runs out at its burn rate (Unix time): its runway's end.",
        labels=labels,
    )
    stale = GaugeMetricFamily(
        "chatops_quota_stale",
        "1 when a pool's figures have not been reported for too long.",
        labels=labels,
    )
    loading = GaugeMetricFamily(
        "chatops_quota_loading",
        "1 while a budget's total is being rebuilt from the usage rows at start (its other "
        "figures are left out meanwhile).",
        labels=labels,
    )
    for view in views:
        key = [view.name, view.kind]
        loading.add_metric(key, 1.0 if view.loading else 0.0)
        if view.loading:
            continue
        remaining.add_metric(key, view.pct_left / 100)
        used.add_metric([*key, view.unit], view.used)
        limit.add_metric([*key, view.unit], view.limit)
        if view.thresholds:
            critical.add_metric(key, min(view.thresholds) / 100)
        if view.resets_at is not None:
            resets.add_metric(key, view.resets_at)
        if view.runway.burn_per_hour is not None:
            burn.add_metric(key, view.runway.burn_per_hour / 100 / 3600)
        if view.runway.exhausted_at is not None:
            exhausted.add_metric(key, view.runway.exhausted_at)
        stale.add_metric(key, 1.0 if view.stale else 0.0)
    return [remaining, used, limit, critical, resets, burn, exhausted, stale, loading]


def pending_approvals(records: Iterable[ApprovalRecord]) -> Metric:
    pending = GaugeMetricFamily(
        "chatops_approvals_pending",
        "Requests waiting for a human now, by action type.",
        labels=["action_type"],
    )
    counts = Counter(record.action_type for record in records if record.pending)
    for action in ActionType:
        pending.add_metric([str(action)], counts.pop(str(action), 0))
    pending.add_metric(["other"], sum(counts.values()))
    return pending


def alert_families(router: AlertRouter, delivery: AlertDelivery) -> list[Metric]:
    incidents = GaugeMetricFamily(
        "chatops_incidents_open", "Incidents open now, by kind.", labels=["kind"]
    )
    for kind, count in sorted(Counter(kind for _, kind in router.incidents).items()):
        incidents.add_metric([kind], count)
    delivered = CounterMetricFamily(
        "chatops_alert_deliveries", "Alerts delivered, by sink.", labels=["sink"]
    )
    failed = CounterMetricFamily(
        "chatops_alert_delivery_failures", "Failed delivery attempts, by sink.", labels=["sink"]
    )
    for name in sorted(delivery.sinks):
        delivered.add_metric([name], delivery.delivered[name])
        failed.add_metric([name], delivery.failed[name])
    outbox = GaugeMetricFamily(
        "chatops_alert_outbox_pending",
        "Alert deliveries waiting to be sent, by sink.",
        labels=["sink"],
    )
    waiting = Counter(item.sink for item in delivery.pending)
    for name in sorted(delivery.sinks):
        outbox.add_metric([name], waiting[name])
    return [incidents, delivered, failed, outbox]


def alertmanager_families(publisher: AlertmanagerPublisher) -> list[Metric]:
    """Each Alertmanager instance (by host and hash, never its credentials): posts of the
    current set of incidents, and how many were firing in the last one accepted."""
    labels = ["instance"]
    posts = CounterMetricFamily(
        "chatops_alertmanager_posts", "Posts an Alertmanager accepted.", labels=labels
    )
    failures = CounterMetricFamily(
        "chatops_alertmanager_post_failures",
        "Posts that failed (retried with the outbox's backoff).",
        labels=labels,
    )
    firing = GaugeMetricFamily(
        "chatops_alertmanager_firing",
        "Incidents firing in the last post an Alertmanager accepted.",
        labels=labels,
    )
    for instance in publisher.instances:
        posts.add_metric([instance.name], instance.sent)
        failures.add_metric([instance.name], instance.failed)
        firing.add_metric([instance.name], instance.last_firing)
    return [posts, failures, firing]


def cache_families(cache: CacheManager) -> list[Metric]:
    config = cache.config
    size = GaugeMetricFamily("chatops_cache_size_bytes", "Bytes the managed cache holds.")
    size.add_metric([], cache.total)
    entries = GaugeMetricFamily("chatops_cache_entries", "Entries in the managed cache.")
    entries.add_metric([], sum(1 for entry in cache.entries.values() if not entry.deleting))
    thresholds = GaugeMetricFamily(
        "chatops_cache_threshold_bytes",
        "The cache's size thresholds (warning, auto_clean).",
        labels=["threshold"],
    )
    thresholds.add_metric(["warning"], config.warning_threshold_mb * MB)
    thresholds.add_metric(["auto_clean"], config.auto_clean_threshold_mb * MB)
    families: list[Metric] = [size, entries, thresholds]
    if cache.last_clean_at is not None:
        cleaned = GaugeMetricFamily(
            "chatops_cache_last_clean_timestamp_seconds",
            "When a clean last removed entries (Unix time), since the controller started.",
        )
        cleaned.add_metric([], cache.last_clean_at)
        families.append(cleaned)
    return families


def controller_families(
    socket: SocketFigures, commits: Buckets, backlog: int, health: Health
) -> list[Metric]:
    return [
        _labelled(
            CounterMetricFamily(
                "chatops_messages",
                "Requests handled on the monitor socket, by type.",
                labels=["type"],
            ),
            socket.handled,
        ),
        _labelled(
            CounterMetricFamily(
                "chatops_connections_refused",
                "Connections refused, by reason (uid, max_connections, max_connections_per_uid).",
                labels=["reason"],
            ),
            socket.refused,
        ),
        _labelled(
            CounterMetricFamily(
                "chatops_bad_messages",
                "Requests refused as bad input, by the error code they were answered with.",
                labels=["reason"],
            ),
            socket.bad_input,
        ),
        _gauge(
            "chatops_connections", "Connections open on the monitor socket.", socket.connections
        ),
        _histogram(
            "chatops_store_commit_duration_seconds", "How long each store commit took.", commits
        ),
        _gauge("chatops_store_writer_backlog", "Writes waiting for the next commit.", backlog),
        _gauge(
            "chatops_degraded",
            "1 while the controller is degraded (its store failing), else 0.",
            1.0 if health.degraded else 0.0,
        ),
    ]


def _labelled(family: CounterMetricFamily, counts: Mapping[str, int]) -> Metric:
    for key, count in sorted(counts.items()):
        family.add_metric([key], count)
    return family


def _gauge(name: str, documentation: str, value: float) -> Metric:
    family = GaugeMetricFamily(name, documentation)
    family.add_metric([], value)
    return family


def _histogram(name: str, documentation: str, buckets: Buckets) -> Metric:
    family = HistogramMetricFamily(name, documentation)
    cumulative = buckets.cumulative()
    family.add_metric(
        [],
        [(_le(bound), count) for bound, count in cumulative],
        sum_value=buckets.sum,
    )
    return family


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(float(bound))
