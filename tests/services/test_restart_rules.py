"""The restart's rule, which every door follows (``/recover restart``, ``chatops restart``, the
socket's ``restart_bot``): a restart needs a bot the fleet knows or the recovery config names,
and one it cannot even try changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chatops.composition.controller import Controller
from chatops.config.recovery import BotRecovery
from chatops.records.fleet import RestartNotice
from chatops.services.errors import NotFound
from tests.conftest import make_settings, register


async def test_a_restart_needs_a_bot_the_fleet_or_the_config_knows(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir)
    settings.recovery.bots = {"configured": BotRecovery(restart_command=["true"])}
    ctl: Controller = await start_controller(settings)
    restarts = ctl.services.restarts
    notices: list[RestartNotice] = []
    ctl.services.bus.subscribe(RestartNotice, notices.append)

    with pytest.raises(NotFound, match="No bot called 'ghost'"):
        restarts.require_known("ghost")
    with pytest.raises(NotFound, match="No bot called 'ghost'"):
        await restarts.restart("ghost", by="alice")
    assert notices == [] and not restarts.restarting("ghost")  # nothing was even announced

    restarts.require_known("configured")  # named by the config, never registered
    client = await register(settings, "registered")
    try:
        restarts.require_known("registered")
    finally:
        await client.close()
