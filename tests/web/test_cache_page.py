"""The cache page: size against the thresholds, entries newest first, the clean plan, and Clean
for admins, which removes exactly the plan that was shown."""

from __future__ import annotations

import pytest

from chatops.config import Settings
from chatops.records.web import Role
from chatops.services.cache.plan import MB
from tests.test_metrics import http_settings
from tests.web.conftest import Site, form_fields

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def web_settings(workdir) -> Settings:  # type: ignore[no-untyped-def]
    settings = http_settings(workdir)
    settings.cache.auto_clean_enabled = False  # only the page cleans here
    settings.cache.auto_clean_keep_count = 1
    return settings


async def three_entries(site: Site) -> int:
    """task-a, task-b, task-c (oldest first), finished; a size threshold that a clean brings the
    cache under by removing the two oldest. Returns one entry's size."""
    cache = site.services.cache
    for task in ("task-a", "task-b", "task-c"):
        await cache.create_cache_entry(task, "claude", {"out.txt": b"x" * 2048}, preview=HOSTILE)
        cache.finish_cache_entry(task)
    await site.ctl.store.flush()
    size = cache.get("task-a").size
    cache.config.auto_clean_threshold_mb = 1.5 * size / MB
    cache.config.warning_threshold_mb = 1.2 * size / MB
    return size


async def test_clean_removes_exactly_the_plan_shown(site: Site) -> None:
    size = await three_entries(site)
    cache = site.services.cache
    admin = await site.signed_in(Role.ADMIN)
    shown = await admin.get("/cache")
    assert shown.status == 200
    assert '<span class="badge critical">' in shown.text  # over the auto-clean threshold
    assert 'data-task="task-a"' in shown.text and "<strong>2</strong> entries" in shown.text
    fields = form_fields(shown.text, "clean-form")
    assert [v for k, v in fields if k == "item"] == [
        f"{cache.get(task).inode}:{task}" for task in ("task-a", "task-b")
    ]
    assert ("kind", "clean") in fields

    # Meanwhile a new entry arrives (a fresh plan would now take task-c too) and task-b is
    # deleted by someone else.
    await cache.create_cache_entry("task-d", "claude", {"out.txt": b"y" * 2048})
    cache.finish_cache_entry("task-d")
    assert [i.task_id for i in cache.plan_clean().items] == ["task-a", "task-b", "task-c"]
    await cache.delete_cache_entry("task-b")

    done = await admin.post("/cache/clean", fields, csrf=False)  # the form carries its token
    assert done.status == 200, done.text
    assert "Removed 1 entry" in done.text
    assert "Skipped 1 that changed since the plan: task-b: no longer in the cache" in done.text
    assert sorted(e.task_id for e in cache.get_cache_entries()) == ["task-c", "task-d"]
    assert cache.total == 2 * size
    assert not (site.settings.cache_root / "task-a").exists()


async def test_a_viewer_sees_the_cache_but_cannot_clean(site: Site) -> None:
    await three_entries(site)
    cache = site.services.cache
    admin = await site.signed_in(Role.ADMIN)
    viewer = await site.signed_in(Role.VIEWER, person="val")
    shown = await viewer.get("/cache")
    assert shown.status == 200
    assert 'id="clean-form"' not in shown.text and 'name="item"' not in shown.text
    assert HOSTILE not in shown.text and "&lt;img src=x onerror=alert(1)&gt;" in shown.text
    # Newest first.
    order = [shown.text.index(f'<tr data-task="{t}">') for t in ("task-c", "task-b", "task-a")]
    assert order == sorted(order)

    fields = form_fields((await admin.get("/cache")).text, "clean-form")
    items = [(k, v) for k, v in fields if k != "csrf"]
    refused = await viewer.post("/cache/clean", items)  # the viewer's own token
    assert refused.status == 403 and "admin only" in refused.text
    forged = await admin.post("/cache/clean", items, csrf=False)  # no token at all
    assert forged.status == 403
    assert len(cache.get_cache_entries()) == 3

    fragment = await admin.get("/cache?part=live")
    assert fragment.status == 200 and "<html" not in fragment.text
    assert 'id="clean-form"' in fragment.text  # the plan and its form refresh together
    other = await viewer.get("/cache?plan=auto_clean&part=live")
    assert 'data-kind="auto_clean"' in other.text
