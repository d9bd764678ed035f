"""Quotas without agent code, on a real controller: ``usage_totals`` stored as its increase,
once, across a restart; providers' rate-limit headers as pools."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from chatops.cli.statusline import report_bodies
from chatops.client.monitor import MonitorClient
from chatops.client.rate_limits import pools_from_headers
from chatops.composition.controller import Controller
from chatops.config import Settings
from chatops.records.alerts import Severity
from chatops.records.plans import PLAN_POOLS
from chatops.records.sessions import SessionFailed
from chatops.services.quotas.events import QuotaCrossed
from chatops.services.quotas.levels import LevelTracker
from chatops.services.quotas.pools import Pool
from chatops.services.quotas.refusals import refused_pools
from tests.conftest import RawClient, query, register
from tests.test_coding_sessions import fixture

SESSION = "0b5c1f0e-3c55-4c4e-9d55-2f1d8a0e7a11"


def totals(cost: float, tokens_in: int, tokens_out: int, **fields: Any) -> dict[str, Any]:
    return {
        "type": "usage_totals",
        "channel": "coder",
        "session": SESSION,
        "model": "claude-sonnet-4-5",
        "cost_usd": cost,
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
        **fields,
    }


def usage_rows(db: Path) -> list[tuple[Any, ...]]:
    return query(
        db,
        "SELECT tokens_in, tokens_out, round(estimated_cost, 6), feature FROM llm_usage "
        "WHERE channel = 'coder' ORDER BY id",
    )


async def send_all(client: RawClient, *messages: dict[str, Any]) -> list[dict[str, Any]]:
    replies = []
    for number, message in enumerate(messages):
        replies.append(await client.request({**message, "id": number}))
    return replies


async def test_totals_are_stored_as_their_increase_once_across_a_restart(
    settings: Settings, start_controller: Any
) -> None:
    db = settings.monitoring.database_path
    ctl: Controller = await start_controller()
    client = await register(settings, "coder")
    replies = await send_all(
        client,
        totals(0.50, 1000, 200),
        totals(0.50, 1000, 200),  # the same totals again: nothing
        totals(0.75, 1500, 260),
    )
    assert all(reply["ok"] for reply in replies), replies
    assert usage_rows(db) == [
        (1000, 200, 0.5, "session totals"),
        (500, 60, 0.25, "session totals"),
    ]
    await client.close()
    await ctl.stop()

    ctl = await start_controller()
    client = await register(settings, "coder")
    [same, lower, grew] = await send_all(
        client,
        totals(0.75, 1500, 260),  # what the last life stored: still counted once
        totals(0.10, 100, 10),  # a new session reusing the id: a fresh start, from zero
        totals(0.25, 400, 50),
    )
    assert same["ok"] and lower["ok"] and grew["ok"]
    assert usage_rows(db)[2:] == [
        (100, 10, 0.1, "session totals"),
        (300, 40, 0.15, "session totals"),
    ]
    usage = await ctl.services.usage.totals("coder", 1)
    assert usage.total_tokens_in == 1000 + 500 + 100 + 300
    assert usage.total_cost == pytest.approx(0.75 + 0.25)
    await client.close()


async def test_a_model_switch_counts_only_the_spend_since(
    settings: Settings, start_controller: Any
) -> None:
    """A session's totals run over the whole session: after ``/model`` the next report's
    increase is the spend since, under the new model, not the whole session again."""
    db = settings.monitoring.database_path
    await start_controller()
    client = await register(settings, "coder")
    replies = await send_all(
        client,
        totals(5.00, 10_000, 1_000, model="claude-opus-4"),
        totals(5.40, 11_000, 1_100, model="claude-sonnet-4-5"),
    )
    assert all(reply["ok"] for reply in replies), replies
    rows = query(
        db,
        "SELECT model, tokens_in, round(estimated_cost, 6) FROM llm_usage "
        "WHERE channel = 'coder' ORDER BY id",
    )
    assert rows == [("claude-opus-4", 10_000, 5.0), ("claude-sonnet-4-5", 1_000, 0.4)]
    await client.close()


async def test_totals_only_from_the_bot_or_its_descendants(
    settings: Settings, start_controller: Any
) -> None:
    await start_controller()
    client = await RawClient.connect(settings.monitoring.socket_path)
    unknown = await client.request({**totals(1.0, 1, 1), "id": 1})
    assert unknown["error"]["code"] == "not_registered"
    # Registered for a child of this test (the registering connection's descendant): this
    # test's own process is not that bot's, so it may not report for it.
    child = subprocess.Popen(["sleep", "60"])
    try:
        owner = await RawClient.connect(settings.monitoring.socket_path)
        reply = await owner.request(
            {"id": 2, "type": "register", "channel": "coder", "pid": child.pid, "features": {}}
        )
        assert reply["ok"], reply
        refused = await client.request({**totals(1.0, 1, 1), "id": 3})
        assert refused["error"]["code"] == "permission_denied"
        await owner.close()
    finally:
        child.kill()
        child.wait()
    await client.close()


ANTHROPIC = {
    "anthropic-ratelimit-requests-limit": "4000",
    "anthropic-ratelimit-requests-remaining": "3999",
    "anthropic-ratelimit-requests-reset": "2026-01-10T12:00:01Z",
    "anthropic-ratelimit-tokens-limit": "480000",
    "anthropic-ratelimit-tokens-remaining": "432000",
    "anthropic-ratelimit-tokens-reset": "2026-01-10T12:00:06Z",
    "anthropic-ratelimit-input-tokens-limit": "400000",
    "anthropic-ratelimit-input-tokens-remaining": "360000",
    "anthropic-ratelimit-input-tokens-reset": "2026-01-10T12:00:06Z",
    "anthropic-ratelimit-output-tokens-limit": "80000",
    "anthropic-ratelimit-output-tokens-remaining": "72000",
    "anthropic-ratelimit-output-tokens-reset": "2026-01-10T12:00:02+00:00",
    "request-id": "req_011",
    "content-type": "application/json",
}
OPENAI = [
    ("X-RateLimit-Limit-Requests", "10000"),
    ("X-RateLimit-Remaining-Requests", "9990"),
    ("X-RateLimit-Reset-Requests", "1m0.5s"),
    ("X-RateLimit-Limit-Tokens", "2000000"),
    ("X-RateLimit-Remaining-Tokens", "1500000"),
    ("X-RateLimit-Reset-Tokens", "20ms"),
]
NOW = 1_768_046_400.0  # 2026-01-10T12:00:00Z


def test_anthropic_headers_as_pools() -> None:
    pools = pools_from_headers("anthropic", ANTHROPIC, NOW)
    assert pools == [
        {"name": "anthropic requests", "used": 1.0, "limit": 4000.0, "resets_at": NOW + 1},
        {"name": "anthropic tokens", "used": 48000.0, "limit": 480000.0, "resets_at": NOW + 6},
        {
            "name": "anthropic input-tokens",
            "used": 40000.0,
            "limit": 400000.0,
            "resets_at": NOW + 6,
        },
        {
            "name": "anthropic output-tokens",
            "used": 8000.0,
            "limit": 80000.0,
            "resets_at": NOW + 2,
        },
    ]


def test_openai_headers_as_pools() -> None:
    pools = pools_from_headers("openai", OPENAI, NOW)
    assert pools == [
        {"name": "openai requests", "used": 10.0, "limit": 10000.0, "resets_at": NOW + 60.5},
        {"name": "openai tokens", "used": 500000.0, "limit": 2000000.0, "resets_at": NOW + 0.02},
    ]
    # Case does not matter; a provider without these headers has no pools.
    assert pools_from_headers("OpenAI", {k.lower(): v for k, v in OPENAI}, NOW) == pools
    assert pools_from_headers("openai", {"content-type": "text/plain"}, NOW) == []
    garbled = {"x-ratelimit-limit-tokens": "lots", "x-ratelimit-remaining-tokens": "1"}
    assert pools_from_headers("openai", garbled, NOW) == []


async def test_a_client_reports_its_providers_headers(
    settings: Settings, start_controller: Any
) -> None:
    ctl: Controller = await start_controller()
    crossed: list[QuotaCrossed] = []
    ctl.services.bus.subscribe(QuotaCrossed, crossed.append)
    client = MonitorClient(settings.monitoring.socket_path)
    try:
        assert await client.register_with_monitor("coder", os.getpid())
        assert await client.report_rate_limits("anthropic", ANTHROPIC, model="claude-sonnet-4-5")
        tight = {**dict(OPENAI), "X-RateLimit-Remaining-Tokens": "100000"}
        assert await client.report_rate_limits("openai", tight, model="gpt-5")
    finally:
        await client.close()
    pools = ctl.services.quotas.pools.pools
    assert pools["anthropic tokens"].used == 48000 and pools["anthropic tokens"].limit == 480000
    assert pools["anthropic requests"].reported_by == "coder"
    assert pools["openai tokens"].pct_left == pytest.approx(5.0)
    [alert] = crossed
    assert alert.name == "openai tokens" and alert.severity == Severity.CRITICAL


async def test_no_pools_no_report(settings: Settings, start_controller: Any) -> None:
    await start_controller()
    client = MonitorClient(settings.monitoring.socket_path)
    try:
        assert await client.register_with_monitor("coder", os.getpid())
        assert not await client.report_rate_limits("anthropic", {})
    finally:
        await client.close()


def test_which_plan_window_a_rate_limit_exhausts() -> None:
    """The fullest window of those the session's status line reported, whose reset is ahead;
    both at a tie; none for another error, another kind, another reporter or a past window."""
    # The names it looks for are the ones the status line reports the windows as.
    statusline = fixture("claude_statusline.json")
    [usage] = [b for b in report_bodies(statusline, "webapp", 4242) if b["type"] == "model_usage"]
    assert tuple(pool["name"] for pool in usage["pools"]) == PLAN_POOLS
    now = 1_800_000_000.0

    def pool(name: str, used: float, resets_at: float | None, by: str = "webapp") -> Pool:
        return Pool(
            name,
            "claude",
            used,
            100,
            resets_at,
            None,
            now,
            LevelTracker([30, 10], 5),
            reported_by=by,
        )

    def refused(*pools: Pool, reason: str = "rate_limit", kind: str = "claude-code") -> list[str]:
        event = SessionFailed(now, "webapp", kind, reason, "")
        return [p.name for p in refused_pools(event, {p.name: p for p in pools}, now)]

    five, week = pool("claude 5h", 72, now + 3600), pool("claude 7d", 41, now + 86400)
    assert refused(five, week) == ["claude 5h"]
    assert refused(five, pool("claude 7d", 90, now + 86400)) == ["claude 7d"]
    assert refused(five, pool("claude 7d", 72, now + 86400)) == ["claude 5h", "claude 7d"]
    assert refused(pool("claude 5h", 72, now - 1), week) == ["claude 7d"]  # a window over
    assert refused(pool("claude 5h", 72, None), week) == ["claude 7d"]  # until when?
    assert refused(five, week, reason="overloaded") == []
    assert refused(five, week, kind="codex") == []
    assert refused(pool("claude 5h", 72, now + 3600, by="other")) == []
    assert refused() == []
