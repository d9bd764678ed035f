"""``chatops silence|maintenance|unsilence|silences`` as real processes against a controller in
this test's loop: what ``/silence``, ``/maintenance``, ``/unsilence`` and ``/silences`` do, with
the service's rules and its words, through the operator's narrow door."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from chatops.composition.controller import Controller
from chatops.config import Settings
from tests.conftest import automation_settings, make_settings, query, register
from tests.test_approvals_cli import CHATOPS, config_file, in_terminal, run_chatops

OPERATOR = re.compile(r"cli \(uid \d+, pid \d+\)")


def stored(settings: Settings) -> list[tuple[Any, ...]]:
    """The silences on disk: each command is answered once its change is committed."""
    return query(settings.monitoring.database_path, "SELECT id, subject, kind FROM silences")


async def test_silence_a_registered_bot_and_see_it_listed(
    workdir: Path, start_controller: Any
) -> None:
    settings = automation_settings(workdir)
    config = config_file(workdir, settings)
    ctl: Controller = await start_controller(settings)
    silences = ctl.services.silences
    bot = await register(settings, "el_serda")
    try:
        code, out, err = await run_chatops(
            config, "silence", "el_serda", "2h", "--kind", "down", "--reason", "upgrade"
        )
        assert code == 0, err
        [silence] = silences.active()
        assert (silence.subject, silence.kind, silence.reason) == ("el_serda", "down", "upgrade")
        assert silence.until - silence.created_at == pytest.approx(2 * 3600)
        assert silence.created_by is not None and OPERATOR.fullmatch(silence.created_by)
        assert silences.is_silenced("el_serda", "down")
        assert not silences.is_silenced("el_serda", "restart")
        assert stored(settings) == [(silence.id, "el_serda", "down")]
        assert out.startswith(f"Silenced #{silence.id} el_serda (down alerts only) until "), out
        assert f"by {silence.created_by} — upgrade — for 2h 0m." in out

        code, out, _ = await run_chatops(config, "silences")
        assert code == 0 and out.startswith(f"#{silence.id} el_serda (down alerts only) until ")
        assert out.count("\n") == 1
        code, out, _ = await run_chatops(config, "silences", "--json")
        [item] = json.loads(out)
        assert item["id"] == silence.id and item["subject"] == "el_serda"
        assert item["until"] == silence.until and item["created_by"] == silence.created_by
    finally:
        await bot.close()


async def test_the_service_refuses_with_its_own_words_and_nothing_changes(
    workdir: Path, start_controller: Any
) -> None:
    settings = automation_settings(workdir)
    config = config_file(workdir, settings)
    ctl: Controller = await start_controller(settings)
    bot = await register(settings, "el_serda")
    try:
        for argv, words in (
            (("silence", "el_serda", "31d"), "a silence lasts at most 30 days"),
            (("silence", "el_serda", "0"), "a silence must last a positive time"),
            (("maintenance", "31d"), "a silence lasts at most 30 days"),
            (("silence", "el_sreda", "1h"), "No bot called 'el_sreda'"),
            (("unsilence", "99"), "No active silence #99"),
        ):
            code, out, err = await run_chatops(config, *argv)
            assert code == 1 and out == "", (argv, out, err)
            assert err.startswith("chatops: refused: ") and words in err, (argv, err)
            assert err.count("\n") == 1, err
        # A duration that does not read, as /silence's: a usage error, never sent.
        code, out, err = await run_chatops(config, "silence", "el_serda", "soonish")
        unread = "cannot read duration 'soonish'; try 30m, 2h or 1d"
        assert code == 2 and out == "" and err == f"chatops: invalid duration: {unread}\n"
        assert ctl.services.silences.active() == [] and stored(settings) == []
    finally:
        await bot.close()


async def test_maintenance_then_unsilence_by_id(workdir: Path, start_controller: Any) -> None:
    settings = automation_settings(workdir)
    config = config_file(workdir, settings)
    ctl: Controller = await start_controller(settings)
    silences = ctl.services.silences
    code, out, err = await run_chatops(config, "maintenance", "30m", "--reason", "upgrade")
    assert code == 0, err
    [held] = silences.active()
    assert held.subject is None and held.kind is None and held.reason == "upgrade"
    assert silences.is_silenced("anything", "down")
    assert out.startswith(f"Silenced #{held.id} everything (maintenance) until "), out
    assert out.endswith(" — upgrade — for 30m 0s.\n"), out

    code, out, err = await run_chatops(config, "unsilence", str(held.id))
    assert code == 0 and out == f"Silence #{held.id} ended.\n", err
    assert silences.active() == [] and stored(settings) == []
    code, out, _ = await run_chatops(config, "silences")
    assert code == 0 and out == "No active silences.\n"
    code, _, err = await run_chatops(config, "unsilence", str(held.id))
    assert code == 1 and f"No active silence #{held.id}" in err


async def test_a_connection_that_registered_a_bot_may_not_change_silences(
    workdir: Path, start_controller: Any
) -> None:
    """The operator's narrow door: a connection that speaks for a bot may list the silences,
    never make or end one."""
    settings = automation_settings(workdir)
    config = config_file(workdir, settings)
    ctl: Controller = await start_controller(settings)
    silences = ctl.services.silences
    agent = await register(settings, "el_serda")
    try:
        code, _, err = await run_chatops(config, "silence", "el_serda", "1h")
        assert code == 0, err
        [silence] = silences.active()
        for request in (
            {"type": "silence", "channel": "el_serda", "seconds": 60},
            {"type": "maintenance", "seconds": 60},
            {"type": "unsilence", "silence": silence.id},
        ):
            reply = await agent.request({"id": request["type"], **request})
            assert reply["ok"] is False and reply["error"]["code"] == "permission_denied", reply
            assert "speaks for a bot or an agent" in reply["error"]["message"]
        assert silences.active() == [silence]
        assert stored(settings) == [(silence.id, "el_serda", None)]
        listed = await agent.request({"id": "list", "type": "list_silences"})
        assert listed["ok"] and [s["id"] for s in listed["silences"]] == [silence.id]
    finally:
        await agent.close()


async def test_without_a_controller_each_command_says_so_in_one_line(workdir: Path) -> None:
    """Silences live in the running controller: no offline answer, no guess."""
    config = config_file(workdir, make_settings(workdir))
    for argv in (("silences",), ("silence", "el_serda", "1h"), ("unsilence", "1")):
        code, out, err = await run_chatops(config, *argv)
        assert code == 3 and out == "", (argv, out)
        assert err.startswith("chatops: no controller answers on ") and err.count("\n") == 1, err


async def test_an_agent_s_shell_tool_cannot_silence_by_default(
    workdir: Path, start_controller: Any
) -> None:
    """A silence hides alerts: under the default ``approvals.socket_decisions: interactive`` a
    process without a terminal (an agent's shell tool) may not set one; a terminal may."""
    settings = make_settings(workdir)
    config = config_file(workdir, settings)
    ctl: Controller = await start_controller(settings)
    client = await register(settings, "worker")
    code, out, err = await run_chatops(config, "silence", "worker", "1h")
    assert code == 1 and "do this from a terminal" in err, (out, err)
    assert ctl.services.silences.active() == [] and stored(settings) == []
    code, out = await in_terminal(CHATOPS, "--config", str(config), "silence", "worker", "1h")
    assert code == 0, out
    assert [s.subject for s in ctl.services.silences.active()] == ["worker"]
    await client.close()
