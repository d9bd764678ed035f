"""The silences' rules, which every door follows (``/silence``, ``/maintenance``, the Silence
button): a length cap, and a bot named by hand must be one the fleet knows."""

from __future__ import annotations

from typing import Any

import pytest

from chatops.alerts.silences import MAX_SILENCE, SilenceService
from chatops.composition.controller import Controller
from chatops.services.errors import Invalid, NotFound
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
