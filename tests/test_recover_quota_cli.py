"""``chatops recover reset-status|cleanup``, ``chatops quota set`` and ``chatops cache
preview|delete|autoclean`` as real processes: what ``/recover``, ``/quota set`` and ``/cache``
do, through the operator's narrow door (or the files, for the cache, with no controller)."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

from chatops.composition.controller import Controller
from chatops.config.approvals import SocketDecisions
from chatops.config.quotas import BudgetConfig, QuotasConfig
from tests.conftest import make_settings, register
from tests.test_approvals_cli import config_file, run_chatops
from tests.test_cache_cli import THREE, cache_with_entries


def stale_things(root: Path, cache_root: Path) -> tuple[Path, Path]:
    """A socket file nothing listens on beside the controller's, and a cache folder nobody
    indexed: what a cleanup removes."""
    dead = root / "crashed.sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(dead))  # closed without unlinking: a crash's leftover
    orphan = cache_root / "orphan-task"
    orphan.mkdir(parents=True)
    (orphan / "out.txt").write_text("left behind")
    return dead, orphan


async def test_recover_cleanup_shows_the_plan_then_removes_exactly_it(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir)
    settings.cache.orphans = "report"  # not adopted: left for a cleanup
    config = config_file(workdir, settings)
    await start_controller(settings)
    dead, orphan = stale_things(settings.monitoring.socket_path.parent, settings.cache_root)

    code, out, err = await run_chatops(config, "recover", "cleanup", "--dry-run")
    assert code == 0, err
    assert "dead socket files: " in out and str(dead) in out and "orphan-task" in out
    assert dead.exists() and orphan.exists()
    code, out, _ = await run_chatops(config, "recover", "cleanup", stdin=b"n\n")
    assert code == 0 and "Nothing removed." in out and dead.exists() and orphan.exists()

    code, out, err = await run_chatops(config, "recover", "cleanup", "--yes")
    assert code == 0 and "Done." in out and "orphan-task" in out, err
    assert not dead.exists() and not orphan.exists()


async def test_cleanup_execute_is_refused_to_a_bot_and_nothing_is_removed(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir)
    settings.cache.orphans = "report"
    await start_controller(settings)
    dead, orphan = stale_things(settings.monitoring.socket_path.parent, settings.cache_root)
    agent = await register(settings, "el_serda")
    try:
        plan = await agent.request({"id": 1, "type": "cleanup_stale_resources"})
        assert plan["ok"] and plan["orphan_cache_folders"] == ["orphan-task"], plan
        reply = await agent.request(
            {
                "id": 2,
                "type": "cleanup_execute",
                "stale_bots": plan["stale_since"],
                "dead_sockets": plan["dead_sockets"],
                "orphan_cache_folders": plan["orphan_cache_folders"],
            }
        )
        assert reply["ok"] is False and reply["error"]["code"] == "permission_denied", reply
        assert dead.exists() and orphan.exists()
    finally:
        await agent.close()


async def test_cleanup_execute_removes_only_what_is_still_stale(
    workdir: Path, start_controller: Any
) -> None:
    """A plan sent back is checked again: a folder indexed since, or a path that was never
    stale, is left alone."""
    settings = make_settings(workdir)
    config = config_file(workdir, settings)
    await start_controller(settings)
    keep = workdir / "not-a-socket"
    keep.write_text("mine")
    from chatops.client.blocking import request
    from chatops.wire.protocol import CleanupExecute

    reply = await asyncio.to_thread(  # a shell's blocking client, off the controller's loop
        request,
        settings.monitoring.socket_path,
        CleanupExecute(dead_sockets=[str(keep)], orphan_cache_folders=["nothing-here"]),
        timeout=30.0,
    )
    assert reply["dead_sockets"] == [] and reply["orphan_cache_folders"] == []
    assert keep.exists()
    code, out, err = await run_chatops(config, "recover", "reset-status")
    assert code == 0 and out.startswith("Statuses reset: "), err


async def test_recover_without_a_controller_says_so(workdir: Path) -> None:
    config = config_file(workdir, make_settings(workdir))
    for argv in (("recover", "reset-status"), ("recover", "cleanup", "--yes")):
        code, out, err = await run_chatops(config, *argv)
        assert code == 3 and out == "", (argv, out)
        assert err.startswith("chatops: no controller answers on "), err


async def test_quota_set_changes_a_budget_as_the_operator(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir)
    settings.quotas = QuotasConfig(
        budgets=[BudgetConfig(name="monthly", limit=100, metric="cost", period="month")]
    )
    config = config_file(workdir, settings)
    ctl: Controller = await start_controller(settings)
    budget = ctl.services.quotas.budgets["monthly"]
    # Raising a limit quiets alerts to come: by default only from a terminal, like a decision.
    code, out, err = await run_chatops(config, "quota", "set", "monthly", "--limit", "500")
    assert code == 1 and "do this from a terminal" in err, (out, err)
    assert budget.config.limit == 100
    ctl.services.approvals.config.socket_decisions = SocketDecisions.ANY  # automation from here

    for argv, words in (
        (("quota", "set", "nope", "--limit", "5"), "no budget called 'nope'"),
        (("quota", "set", "monthly"), "give a new limit or new thresholds"),
        (("quota", "set", "monthly", "--thresholds", "150"), "between 0 and 100"),
    ):
        code, out, err = await run_chatops(config, *argv)
        assert code == 1 and out == "" and err.startswith("chatops: refused: "), (argv, err)
        assert words in err and err.count("\n") == 1, (argv, err)
    code, _, err = await run_chatops(config, "quota", "set", "monthly", "--thresholds", "x")
    assert code == 2 and "invalid thresholds" in err
    assert budget.config.limit == 100 and budget.config.thresholds is None

    code, out, err = await run_chatops(
        config, "quota", "set", "monthly", "--limit", "80", "--thresholds", "50,20"
    )
    assert code == 0 and out.startswith("Budget monthly changed: 0/80 "), (out, err)
    assert budget.config.limit == 80 and budget.config.thresholds == [50, 20]
    code, out, _ = await run_chatops(config, "quota", "--json")
    assert code == 0 and json.loads(out)["quotas"][0]["limit"] == 80


async def test_quota_set_is_refused_to_a_bot(workdir: Path, start_controller: Any) -> None:
    settings = make_settings(workdir)
    settings.quotas = QuotasConfig(
        budgets=[BudgetConfig(name="monthly", limit=100, metric="cost", period="month")]
    )
    ctl: Controller = await start_controller(settings)
    agent = await register(settings, "el_serda")
    try:
        reply = await agent.request({"id": 1, "type": "set_budget", "name": "monthly", "limit": 5})
        assert reply["ok"] is False and reply["error"]["code"] == "permission_denied", reply
        assert ctl.services.quotas.budgets["monthly"].config.limit == 100
    finally:
        await agent.close()


async def test_cache_preview_delete_and_autoclean_through_the_controller(
    workdir: Path, start_controller: Any
) -> None:
    config, ctl, _ = await cache_with_entries(workdir, start_controller, *THREE)
    cache = ctl.services.cache
    code, out, err = await run_chatops(config, "cache", "preview", "mid", "--lines", "1")
    assert code == 0 and out.startswith("mid  claude  1000 B") and "--- f (1000 B)" in out, err
    code, out, _ = await run_chatops(config, "cache", "preview", "mid", "--json")
    assert code == 0 and json.loads(out)["files"][0]["name"] == "f"

    code, out, err = await run_chatops(config, "cache", "delete", "nope", "--yes")
    assert code == 1 and "chatops: refused: " in err and "nope" in err
    code, out, _ = await run_chatops(config, "cache", "delete", "mid", stdin=b"n\n")
    assert code == 0 and "Nothing deleted" in out and len(cache.entries) == 3
    code, out, err = await run_chatops(config, "cache", "delete", "mid", "--yes")
    assert code == 0 and "Removed 1 entry" in out, err
    assert sorted(cache.entries) == ["new", "old"]

    code, out, _ = await run_chatops(config, "cache", "autoclean", "--dry-run")
    assert code == 0 and "Plan: 1 entry" in out and sorted(cache.entries) == ["new", "old"]
    code, out, err = await run_chatops(config, "cache", "autoclean", "--yes")
    assert code == 0 and "Removed 1 entry" in out, err
    assert list(cache.entries) == ["new"]


async def test_cache_preview_delete_and_autoclean_without_a_controller(
    workdir: Path, start_controller: Any
) -> None:
    config, ctl, settings = await cache_with_entries(workdir, start_controller, *THREE)
    await ctl.stop()
    code, out, err = await run_chatops(config, "cache", "preview", "old")
    assert code == 0 and out.startswith("old  claude  1000 B"), err
    code, _, err = await run_chatops(config, "cache", "delete", "nope", "--yes")
    assert code == 1 and "chatops: refused: " in err
    code, out, err = await run_chatops(config, "cache", "delete", "old", "--yes")
    assert code == 0 and "Removed 1 entry" in out, err
    assert not (settings.cache_root / "old").exists() and (settings.cache_root / "mid").exists()
    code, out, err = await run_chatops(config, "cache", "autoclean", "--yes")
    assert code == 0 and "Removed 1 entry" in out, err
    assert not (settings.cache_root / "mid").exists() and (settings.cache_root / "new").exists()
