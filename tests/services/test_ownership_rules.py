"""Ownership kept by one service: a quota pool only from a registered bot, which it records;
an agent's name still its reporter's after a controller restart."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from chatops.composition.controller import Controller
from chatops.services.callers import Caller
from chatops.services.errors import Refused
from tests.conftest import RawClient

POOL = {"model_name": "m", "pools": [{"name": "m 5h", "used": 10, "limit": 100}]}


async def ask(ctl: Controller, message: dict[str, Any]) -> dict[str, Any]:
    raw = await RawClient.connect(ctl.settings.monitoring.socket_path)
    try:
        reply: dict[str, Any] = await raw.request({"id": 1, **message})
        return reply
    finally:
        await raw.close()


async def test_a_quota_pool_comes_only_from_a_registered_bot(controller: Controller) -> None:
    refused = await ask(controller, {"type": "model_usage", **POOL})
    assert refused["error"]["code"] == "permission_denied"
    assert "only a registered bot" in refused["error"]["message"]
    unknown = await ask(controller, {"type": "model_usage", "channel": "ghost", **POOL})
    assert unknown["error"]["code"] == "not_registered"
    assert "m 5h" not in controller.services.quotas.pools.pools

    raw = await RawClient.connect(controller.settings.monitoring.socket_path)
    try:
        registered = {"id": 1, "type": "register", "channel": "coder", "pid": os.getpid()}
        assert (await raw.request(registered))["ok"]
        assert (await raw.request({"id": 2, "type": "model_usage", **POOL}))["ok"]
    finally:
        await raw.close()
    assert controller.services.quotas.pools.pools["m 5h"].reported_by == "coder"
    await controller.store.flush()
    [stored] = [p for p in await controller.store.quotas.pools() if p.name == "m 5h"]
    assert stored.reported_by == "coder"


async def test_a_bot_may_not_report_a_pool_for_another(controller: Controller) -> None:
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        owned = {"type": "register", "channel": "other", "pid": stranger.pid}
        raw = await RawClient.connect(controller.settings.monitoring.socket_path)
        reply = await raw.request({"id": 1, **owned})
        assert reply["ok"], reply
        for_other = await ask(controller, {"type": "model_usage", "channel": "other", **POOL})
        assert for_other["error"]["code"] == "permission_denied"
        await raw.close()
    finally:
        stranger.kill()
        stranger.wait()


async def test_an_agent_stays_its_reporters_after_a_restart(
    start_controller: Any, settings: Any
) -> None:
    status = {"type": "agent_status", "agent": "coder", "status": "idle"}
    stranger = Caller(pid=1)  # alive, and not this process or one of its children
    first = await start_controller(settings)
    assert (await ask(first, status))["ok"]  # this process reports first: it owns "coder"
    await first.stop()
    second = await start_controller(settings)
    assert second.services.agents.agents["coder"].owner_pid == os.getpid()
    # Another live process may not take the name over just because the controller restarted.
    agents = second.services.agents
    with pytest.raises(Refused, match="another live process"):
        agents.update_status(stranger, "coder", "processing")
    assert (await ask(second, {**status, "status": "processing"}))["ok"]
    assert agents.agents["coder"].status == "processing"
