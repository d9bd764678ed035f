"""LLM usage and quotas over the socket: usage events, providers' pool reports, summaries."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from chatops.api.callers import Callers
from chatops.api.fleet import QUERY_TIMEOUT
from chatops.composition.services import Services
from chatops.records.quotas import PoolReading
from chatops.services.operators import operator_name
from chatops.services.quotas.pools import ModelReport
from chatops.services.quotas.service import QuotaView
from chatops.wire.outcomes import COMMITTED, Committed, Handler, Immediate, Later, Outcome
from chatops.wire.peer import Peer
from chatops.wire.protocol import (
    GetQuotaSummary,
    GetUsage,
    GetUsageTrends,
    LlmUsage,
    ModelUsage,
    SetBudget,
    UsageTotals,
)

LOADING = "loading: the budget's total is being rebuilt from the usage rows"


def quota_to_dict(view: QuotaView, now: float) -> dict[str, Any]:
    runway = view.runway
    if view.loading:
        # Its total so far is partial: no figure rather than a wrong one.
        return {
            "name": view.name,
            "kind": view.kind,
            "family": view.family,
            "models": list(view.models),
            "used": None,
            "limit": view.limit,
            "unit": view.unit,
            "pct_left": None,
            "level": view.level,
            "loading": True,
            "resets_at": view.resets_at,
            "span": view.span,
            "stale": view.stale,
            "burn_per_hour": None,
            "exhausted_at": None,
            "lasts_until_reset": None,
            "runway": LOADING,
        }
    return {
        "name": view.name,
        "kind": view.kind,
        "family": view.family,
        "models": list(view.models),
        "used": view.used,
        "limit": view.limit,
        "unit": view.unit,
        "pct_left": round(view.pct_left, 2),
        "level": view.level,
        "resets_at": view.resets_at,
        "span": view.span,
        "stale": view.stale,
        "burn_per_hour": runway.burn_per_hour,
        "exhausted_at": runway.exhausted_at,
        "lasts_until_reset": runway.lasts,
        "runway": runway.describe(now),
    }


def model_report(msg: ModelUsage) -> ModelReport:
    return ModelReport(
        model=msg.model_name,
        family=msg.family,
        thinking=(msg.thinking_credits, msg.thinking_limit),
        flow=(msg.flow_credits, msg.flow_limit),
        pools=tuple(PoolReading(p.name, p.used, p.limit, p.resets_at, p.window) for p in msg.pools),
    )


def quota_handlers(services: Services, callers: Callers) -> dict[type, Handler]:
    usage, quotas = services.usage, services.quotas

    def llm_usage(peer: Peer, msg: LlmUsage) -> Outcome:
        usage.log_usage(
            callers.of(peer),
            msg.channel,
            msg.model,
            feature=msg.feature,
            tokens_in=msg.tokens_in,
            tokens_out=msg.tokens_out,
            latency_ms=msg.latency_ms,
            estimated_cost=msg.estimated_cost,
            key=msg.key,
            ts=msg.ts,
        )
        return COMMITTED

    def model_usage(peer: Peer, msg: ModelUsage) -> Outcome:
        quotas.report_usage(callers.of(peer), model_report(msg), msg.channel)
        return COMMITTED

    def running_totals(peer: Peer, msg: UsageTotals) -> Outcome:
        services.usage_totals.report(
            callers.of(peer),
            msg.channel,
            msg.session,
            msg.model,
            cost=msg.cost_usd,
            tokens_in=msg.tokens_in,
            tokens_out=msg.tokens_out,
            ts=msg.ts,
        )
        return COMMITTED

    async def totals(msg: GetUsage) -> dict[str, Any]:
        return asdict(await usage.totals(msg.channel, msg.days))

    def get_usage(peer: Peer, msg: GetUsage) -> Outcome:
        return Later(totals(msg), QUERY_TIMEOUT)

    def quota_summary(peer: Peer, msg: GetQuotaSummary) -> Outcome:
        now = services.clock()
        return Immediate({"quotas": [quota_to_dict(view, now) for view in quotas.summary()]})

    async def trends(msg: GetUsageTrends) -> dict[str, Any]:
        history = await quotas.trends(msg.minutes)
        return {"minutes": msg.minutes, "trends": {k: list(v) for k, v in history.items()}}

    def usage_trends(peer: Peer, msg: GetUsageTrends) -> Outcome:
        return Later(trends(msg), QUERY_TIMEOUT)

    def set_budget(peer: Peer, msg: SetBudget) -> Outcome:
        caller = callers.of(peer)
        # Raising a limit quiets the alerts to come: a decision, under socket_decisions.
        services.operators.require_decider(caller, services.approvals.config.socket_decisions)
        view = quotas.set_budget(
            msg.name, by=operator_name(caller), limit=msg.limit, thresholds=msg.thresholds
        )
        return Committed({"quota": quota_to_dict(view, services.clock())})  # once it is saved

    return {
        SetBudget: set_budget,
        LlmUsage: llm_usage,
        ModelUsage: model_usage,
        UsageTotals: running_totals,
        GetUsage: get_usage,
        GetQuotaSummary: quota_summary,
        GetUsageTrends: usage_trends,
    }
