"""The silences' rules, which every door follows (``/silence``, ``/maintenance``, the Silence
button, ``chatops silence|maintenance|unsilence``): a length cap, a bot named by hand must be one
the fleet knows, only an active silence can be ended, and from a shell only the operator may
(``tests/test_silences_cli.py`` runs the commands themselves)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from chatops.alerts.silences import MAX_SILENCE, SilenceService
from chatops.composition.controller import Controller
from chatops.config.approvals import SocketDecisions
from chatops.services.callers import Caller
from chatops.services.errors import Invalid, NotFound, Refused
from chatops.services.operators import OperatorGate
from chatops.services.ownership import Ownership
from chatops.store import Store
from tests.conftest import FakeClock, register


async def test_a_silence_lasts_a_positive_time_and_at_most_thirty_days(
    store: Store, clock: FakeClock
) -> None:
    silences = SilenceService(store, clock=clock)
    await silences.start()
    with pytest.raises(Invalid, match="at most 30 days"):
        silences.add("bot", MAX_SILENCE + 1)
    with pytest.raises(Invalid, match="positive"):
        silences.add(None, 0)
    with pytest.raises(Invalid, match="at most 30 days"):
        silences.check_length(MAX_SILENCE + 1)  # what a door asks before it confirms
    assert silences.active() == []
    longest = silences.add(None, MAX_SILENCE)
    assert longest.until == clock() + MAX_SILENCE


async def test_silencing_a_bot_by_name_needs_one_the_fleet_knows(
    settings: Any, start_controller: Any
) -> None:
    ctl: Controller = await start_controller()
    silences = ctl.services.silences
    with pytest.raises(NotFound, match="No bot called 'el_sreda'"):
        silences.silence_bot("el_sreda", 3600, created_by="alice")
    assert silences.active() == []
    client = await register(settings, "el_serda")
    try:
        silence = silences.silence_bot("el_serda", 3600, kind="down", created_by="alice")
        assert [(s.subject, s.kind) for s in silences.active()] == [("el_serda", "down")]
        assert silence.created_by == "alice"
        with pytest.raises(Invalid, match="at most 30 days"):
            silences.silence_bot("el_serda", MAX_SILENCE + 1)
    finally:
        await client.close()


async def test_only_an_active_silence_ends_and_only_the_operator_acts_from_a_shell(
    store: Store, clock: FakeClock
) -> None:
    gate = OperatorGate(Ownership())
    # ``any``: the operator's door alone (the terminal rule of the default is tested over the CLI)
    silences = SilenceService(store, clock=clock, operators=gate, decisions=SocketDecisions.ANY)
    await silences.start()
    operator = Caller(pid=4242, uid=os.geteuid())
    agent = Caller(pid=4343, uid=os.geteuid())
    gate.spoke_as_agent(agent)

    with pytest.raises(Refused, match="speaks for a bot or an agent"):
        silences.maintenance_as_operator(agent, 600)
    assert silences.active() == []
    held = silences.maintenance_as_operator(operator, 600, reason="upgrade")
    assert held.subject is None and held.created_by == f"cli (uid {os.geteuid()}, pid 4242)"
    with pytest.raises(Refused):
        silences.end_as_operator(agent, held.id)
    assert silences.active() == [held]

    assert silences.end_as_operator(operator, held.id) == held
    assert silences.active() == []
    with pytest.raises(NotFound, match=f"No active silence #{held.id}"):
        silences.end(held.id, by="alice")
    brief = silences.add("bot", 60)
    clock.advance(61)
    with pytest.raises(NotFound, match=f"No active silence #{brief.id}"):
        silences.end(brief.id, by="alice")  # over already, though not yet swept

    alone = SilenceService(store, clock=clock)  # no socket door: no shell may act
    with pytest.raises(Refused):
        alone.maintenance_as_operator(operator, 600)
