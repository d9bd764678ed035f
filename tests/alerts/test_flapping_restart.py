"""A bot that goes down during a flapping episode is not forgotten when the controller restarts:
the episode lived in memory, the bot's state in the store, and the start reconciles the two."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chatops.presentation.fleet_alerts import DOWN
from tests.conftest import RecordingSink, make_settings, register, wait_for


async def test_a_bot_down_when_a_flapping_controller_restarts_gets_its_incident(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir)
    settings.alerts.flapping_transitions = 3
    settings.alerts.flapping_window = 3600
    first = await start_controller(settings)
    fleet = first.services.fleet
    for _ in range(2):  # online -> down -> online -> down: the third change is flapping
        client = await register(settings, "flappy")
        await client.close()
        await wait_for(lambda: fleet.bots["flappy"].status == "down")
    router = first.services.alerts
    assert ("flappy", DOWN) not in router.incidents  # held back by the flapping episode
    await first.stop()

    sink = RecordingSink()
    second = await start_controller(settings, sinks=[sink])
    assert second.services.fleet.bots["flappy"].status == "down"
    incident = second.services.alerts.incidents[("flappy", DOWN)]
    assert incident.state == "down"
    await wait_for(lambda: any(a.kind == "down" and a.subject == "flappy" for a in sink.alerts))


async def test_a_bot_up_at_start_opens_nothing(workdir: Path, start_controller: Any) -> None:
    settings = make_settings(workdir)
    first = await start_controller(settings)
    client = await register(settings, "steady")
    await first.stop()
    await client.close()
    second = await start_controller(settings, sinks=[RecordingSink()])
    assert ("steady", DOWN) not in second.services.alerts.incidents
