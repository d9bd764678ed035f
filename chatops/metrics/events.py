"""What only events can tell, counted as they are published: LLM usage and approval outcomes.

LLM usage follows the OpenTelemetry GenAI semantic conventions (v1.37, "Semantic conventions
for generative client AI metrics") as Prometheus renders them: the instrument
``gen_ai.client.token.usage`` (unit ``{token}``, which Prometheus drops) becomes the histogram
``gen_ai_client_token_usage``, ``gen_ai.client.operation.duration`` (unit ``s``) becomes
``gen_ai_client_operation_duration_seconds``, and attributes become labels with dots turned into
underscores. Bucket boundaries are the ones the convention advises. The bot and feature are
labels only with ``metrics.llm_by_bot``: with it, every bot times every model is a series.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram

from chatops.config.approvals import ActionType
from chatops.config.http import MetricsConfig
from chatops.runtime.bus import EventBus
from chatops.services.approvals.events import ApprovalSettled
from chatops.services.usage import UsageLogged

TOKEN_BUCKETS = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
"""``gen_ai.client.token.usage``'s advised explicit bucket boundaries."""
DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
"""``gen_ai.client.operation.duration``'s advised explicit bucket boundaries."""
DECISION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600)
"""Seconds a request waited for a human: a click within seconds to an expiry within the hour."""

OPERATION = "chat"
"""``gen_ai.operation.name``: a usage event is one model call, a chat completion."""
MAX_MODELS = 500
"""Distinct model names labelled before the rest count as ``other``: a bot that reports a new
model name with every call must not grow Prometheus without bound."""
OTHER = "other"
MODEL_LABELS = ("gen_ai_request_model", "gen_ai_provider_name", "gen_ai_operation_name")
BOT_LABELS = ("bot", "feature")


class EventMetrics:
    """The event-fed metrics, in their own registry (one per controller, so two controllers in
    one process, as in tests, never share counts)."""

    def __init__(self, bus: EventBus, config: MetricsConfig) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._by_bot = config.llm_by_bot
        self._models: set[str] = set()
        labels = (*MODEL_LABELS, *BOT_LABELS) if self._by_bot else MODEL_LABELS
        self.tokens = Histogram(
            "gen_ai_client_token_usage",
            "Tokens used per LLM call, by type (input, output): the GenAI convention's "
            "gen_ai.client.token.usage.",
            ("gen_ai_token_type", *labels),
            buckets=TOKEN_BUCKETS,
            registry=self.registry,
        )
        self.duration = Histogram(
            "gen_ai_client_operation_duration_seconds",
            "LLM call duration as the bot measured it: the GenAI convention's "
            "gen_ai.client.operation.duration.",
            labels,
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.cost = Counter(
            "chatops_llm_cost_usd",
            "LLM spend in US dollars: the event's own estimate, else the price table's.",
            labels,
            registry=self.registry,
        )
        self.approvals = Counter(
            "chatops_approval_requests",
            "Approval requests by action type and outcome (accepted, denied, approved, "
            "expired, cancelled, checked).",
            ("action_type", "outcome"),
            registry=self.registry,
        )
        self.decision = Histogram(
            "chatops_approval_decision_duration_seconds",
            "How long a request waited for a human before its outcome.",
            ("action_type",),
            buckets=DECISION_BUCKETS,
            registry=self.registry,
        )
        self._unsubscribe: list[Callable[[], None]] = [
            bus.subscribe(UsageLogged, self.on_usage),
            bus.subscribe(ApprovalSettled, self.on_settled),
        ]

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    def on_usage(self, event: UsageLogged) -> None:
        labels = [self._model(event.model), event.provider, OPERATION]
        if self._by_bot:
            labels += [event.channel, event.feature or ""]
        self.tokens.labels("input", *labels).observe(event.tokens_in)
        self.tokens.labels("output", *labels).observe(event.tokens_out)
        if event.latency_ms is not None:
            self.duration.labels(*labels).observe(event.latency_ms / 1000)
        self.cost.labels(*labels).inc(max(0.0, event.cost))

    def on_settled(self, event: ApprovalSettled) -> None:
        record = event.record
        # An agent may name any action type; only the policy's own are labels.
        known = ActionType.named(record.action_type)
        action = OTHER if known is None else str(known)
        self.approvals.labels(action, record.state).inc()
        if event.asked and record.wait_ms is not None:
            self.decision.labels(action).observe(record.wait_ms / 1000)

    def _model(self, model: str) -> str:
        if model in self._models:
            return model
        if len(self._models) >= MAX_MODELS:
            return OTHER
        self._models.add(model)
        return model
