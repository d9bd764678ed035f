"""The README's pictures of the dashboard are taken by this code, from the demo fleet, in a
real Chromium: here they are taken again and checked to be real pictures of real pages."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from tests.browser import chromium
from tests.conftest import make_settings
from tests.web_demo import PAGES, demo_fleet, demo_settings, take_screenshots


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


async def test_the_readme_pictures_are_taken_from_the_demo_fleet(
    workdir: Path, start_controller: Any
) -> None:
    ctl = await start_controller(demo_settings(make_settings(workdir)))
    client = await demo_fleet(ctl)
    out = workdir / "shots"
    out.mkdir()
    async with chromium() as browser:
        saved = await take_screenshots(browser, ctl, out)
        # The last page shot is the approvals page, with the demo's pending request on it.
        assert "kubectl rollout restart deploy/api" in await browser.call(
            lambda: browser.driver.page_source
        )
    assert sorted(path.name for path in saved) == sorted(PAGES)
    for path in saved:
        assert png_size(path)[0] == 1280
        assert path.stat().st_size > 10_000, f"{path.name} looks empty"
    await client.close()
