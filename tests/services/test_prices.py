"""Usage events without a cost are priced from genai-prices' table; an event's own cost wins."""

from __future__ import annotations

import pytest

from chatops.composition.controller import Controller
from chatops.services.prices import PriceTable
from tests.conftest import RawClient, query


def test_the_table_prices_known_models_and_leaves_others_at_zero() -> None:
    table = PriceTable()
    sonnet = table.cost("claude-sonnet-4-5", 1_000_000, 0)
    assert sonnet == pytest.approx(3.0)  # $3 per million input tokens (first tier)
    assert table.cost("claude-sonnet-4-5", 0, 1_000_000) == pytest.approx(15.0)
    assert table.cost("an-unknown-model", 1000, 1000) == 0.0
    assert PriceTable(enabled=False).cost("claude-sonnet-4-5", 1000, 1000) == 0.0


async def test_stored_usage_gets_the_table_price_unless_it_has_its_own(
    controller: Controller,
) -> None:
    raw = await RawClient.connect(controller.settings.monitoring.socket_path)
    try:
        base = {"type": "llm_usage", "channel": "b", "tokens_in": 2000, "tokens_out": 1000}
        for i, extra in enumerate(
            (
                {"model": "claude-sonnet-4-5"},
                {"model": "claude-sonnet-4-5", "estimated_cost": 0.5},
                {"model": "homegrown"},
            ),
        ):
            assert (await raw.request({"id": i, **base, **extra}))["ok"]
    finally:
        await raw.close()
    costs = query(
        controller.settings.monitoring.database_path,
        "SELECT model, estimated_cost FROM llm_usage ORDER BY id",
    )
    assert costs[0] == ("claude-sonnet-4-5", pytest.approx(2000 * 3e-6 + 1000 * 15e-6))
    assert costs[1][1] == 0.5 and costs[2] == ("homegrown", 0.0)
