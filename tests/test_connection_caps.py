"""``monitoring.max_connections_per_uid`` caps a single user's fleet: the first refusal is
logged, once, naming the setting to raise, and ``chatops doctor`` warns before the cap is met."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RawClient, make_settings, register


async def test_the_first_refusal_at_the_per_uid_cap_is_logged_once_with_its_setting(
    workdir: Path, start_controller: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(workdir, max_connections_per_uid=2)
    ctl = await start_controller(settings)
    kept = [await RawClient.connect(settings.monitoring.socket_path) for _ in range(2)]
    for client in kept:  # admitted: each answers
        assert (await client.request({"id": 1, "type": "ping"}))["ok"]
    refused = []
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            client = await RawClient.connect(settings.monitoring.socket_path)
            refused.append((await client.recv())["error"]["code"])
            await client.close()
    assert refused == ["too_many_connections"] * 3
    said = [r.getMessage() for r in caplog.records if "max_connections_per_uid" in r.getMessage()]
    assert len(said) == 1 and "raise the setting" in said[0]
    assert ctl.server is not None and ctl.server.refused_connections["max_connections_per_uid"] == 3
    for client in kept:
        await client.close()


async def test_doctor_warns_when_one_uids_bots_near_the_cap(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir, max_connections_per_uid=5)
    ctl = await start_controller(settings)
    client = await register(settings, "a", "b", "c")
    [check] = [
        c for c in await ctl.services.diagnostics.run_diagnostics() if c.name == "connections"
    ]
    assert check.status == "ok"
    more = await register(settings, "d")

    [check] = [
        c for c in await ctl.services.diagnostics.run_diagnostics() if c.name == "connections"
    ]
    assert check.status == "warning"
    assert "4 bots" in check.detail and "monitoring.max_connections_per_uid (5)" in check.detail
    await client.close()
    await more.close()
