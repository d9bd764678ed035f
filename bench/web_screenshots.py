"""Refresh the README's pictures of the web dashboard (``docs/screenshots/*.png``).

They are taken by the same code as ``tests/test_web_screenshots.py``, from the same demo fleet,
in Debian's headless Chromium, so they show what the dashboard really draws:

    python bench/web_screenshots.py
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import chromium
from tests.conftest import make_settings, new_controller
from tests.web_demo import demo_fleet, demo_settings, take_screenshots

OUT = ROOT / "docs" / "screenshots"


async def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="co-shots-", dir="/tmp"))
    ctl = new_controller(demo_settings(make_settings(work)))
    await ctl.start()
    try:
        client = await demo_fleet(ctl)
        OUT.mkdir(parents=True, exist_ok=True)
        async with chromium() as browser:
            for path in await take_screenshots(browser, ctl, OUT):
                print(path.relative_to(ROOT))
        await client.close()
    finally:
        await ctl.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
