"""``chatops cache`` as a real process: through the running controller, and straight from the
files when it is not running."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from chatops.composition.controller import Controller
from chatops.config.cache import CacheConfig
from chatops.services.cache.checks import CacheChecks
from tests.conftest import make_settings
from tests.test_approvals_cli import config_file, run_chatops


async def cache_with_entries(
    workdir: Path, start_controller: Any, *names: str
) -> tuple[Path, Controller, Any]:
    """A controller whose cache holds ``names`` (1000 B each, finished, oldest first), and the
    config file ``chatops`` runs with: the config, the controller and its settings.

    What an operator's ``clean`` would remove is over the threshold from the start: the
    controller's own scheduled auto-clean is off in this config, or its first run (5 s after
    start, whenever a loaded machine gets there) would remove it between two commands."""
    cache_section = {
        "auto_clean_enabled": False,
        "auto_clean_threshold_mb": 0.001,
        "auto_clean_keep_count": 1,
    }
    settings = make_settings(workdir)
    settings.cache = CacheConfig(**cache_section)
    config = config_file(workdir, settings)
    (workdir / "cache.yaml").write_text(
        config.read_text() + yaml.safe_dump({"cache": cache_section})
    )
    config = workdir / "cache.yaml"
    ctl: Controller = await start_controller(settings)
    cache = ctl.services.cache
    for name in names:
        await cache.create_cache_entry(name, "claude", {"f": b"x" * 1000})
        cache.finish_cache_entry(name)
    # The scheduled check, run now as a slow machine would reach it: it may reconcile, it
    # removes nothing.
    assert await CacheChecks(cache, ctl.services.bus).check() is None
    assert sorted(cache.entries) == sorted(names)
    return config, ctl, settings


THREE = ("old", "mid", "new")


async def test_chatops_cache_stats_through_the_controller(
    workdir: Path, start_controller: Any
) -> None:
    config, _, _ = await cache_with_entries(workdir, start_controller, *THREE)
    code, out, _ = await run_chatops(config, "cache", "stats")
    assert code == 0 and out.startswith("3 entries, 2.9 kB")


async def test_chatops_cache_clean_dry_run_shows_the_plan_and_removes_nothing(
    workdir: Path, start_controller: Any
) -> None:
    config, ctl, _ = await cache_with_entries(workdir, start_controller, *THREE)
    code, out, _ = await run_chatops(config, "cache", "clean", "--dry-run")
    assert code == 0 and "Plan: 2 entries" in out and "mid" in out
    assert "why: 2 over the size threshold" in out  # the words /cache clean shows
    assert sorted(ctl.services.cache.entries) == ["mid", "new", "old"]


async def test_chatops_cache_clean_answered_no_removes_nothing(
    workdir: Path, start_controller: Any
) -> None:
    config, ctl, _ = await cache_with_entries(workdir, start_controller, *THREE)
    code, out, _ = await run_chatops(config, "cache", "clean", stdin=b"n\n")
    assert code == 0 and "Nothing deleted" in out and len(ctl.services.cache.entries) == 3


async def test_chatops_cache_clean_yes_removes_the_plan(
    workdir: Path, start_controller: Any
) -> None:
    config, ctl, _ = await cache_with_entries(workdir, start_controller, *THREE)
    code, out, err = await run_chatops(config, "cache", "clean", "--yes")
    assert code == 0 and "Removed 2 entries" in out, err
    assert list(ctl.services.cache.entries) == ["new"]


async def test_chatops_cache_without_a_controller_reads_the_files(
    workdir: Path, start_controller: Any
) -> None:
    config, ctl, settings = await cache_with_entries(workdir, start_controller, "new")
    await ctl.stop()  # without a controller: straight from the files
    code, out, _ = await run_chatops(config, "cache", "list")
    assert code == 0 and out.startswith("new  claude  1000 B")
    code, out, _ = await run_chatops(config, "cache", "clear", "--yes")
    assert code == 0 and "Removed 1 entry," in out
    assert not (settings.cache_root / "new").exists()
