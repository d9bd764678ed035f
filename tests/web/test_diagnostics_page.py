"""The diagnostics page: the checks ``/diagnostics`` runs, their sum, the host and the
controller; one run of the checks serves every page read while it is fresh."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from chatops.records.web import Role
from chatops.services.recovery.diagnostics import Check
from chatops.web import diagnostics
from tests.conftest import wait_for
from tests.web.conftest import Site


async def test_every_check_with_its_status_latency_and_detail(site: Site) -> None:
    viewer = await site.signed_in(Role.VIEWER)
    shown = await viewer.get("/diagnostics")
    assert shown.status == 200
    for check in ("socket", "database", "filesystem", "cache", "scheduler"):
        assert f'<tr data-check="{check}">' in shown.text
    assert 'id="health"' in shown.text
    assert "ping answered on" in shown.text  # the socket check's own words
    assert 'id="host"' in shown.text and 'id="controller"' in shown.text
    assert 'data-every="10"' in shown.text and 'data-live="fleet"' in shown.text
    fragment = await viewer.get("/diagnostics?part=live")
    assert fragment.status == 200 and "<html" not in fragment.text
    assert '<tr data-check="database">' in fragment.text


async def test_one_run_serves_every_reader_while_fresh(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = 0
    release = asyncio.Event()

    async def run_diagnostics() -> list[Check]:
        nonlocal runs
        runs += 1
        await release.wait()
        return [Check("socket", "failing", None, f"<b>run {runs}</b>")]

    monkeypatch.setattr(site.services.diagnostics, "run_diagnostics", run_diagnostics)
    monkeypatch.setattr(diagnostics, "FRESH", 3600.0)  # however slow this machine is
    viewer = await site.signed_in(Role.VIEWER)
    readers: list[asyncio.Task[Any]] = [
        asyncio.create_task(viewer.get("/diagnostics?part=live")) for _ in range(3)
    ]
    await wait_for(lambda: runs == 1)
    release.set()
    pages = await asyncio.gather(*readers)
    assert runs == 1
    assert all("&lt;b&gt;run 1&lt;/b&gt;" in page.text for page in pages)
    assert all('<span class="badge failing" id="health">failing</span>' in p.text for p in pages)

    monkeypatch.setattr(diagnostics, "FRESH", 0.0)  # stale at once: the next read runs them
    later = await viewer.get("/diagnostics?part=live")
    assert runs == 2 and "run 2" in later.text
