"""A real headless Chromium (Debian's ``chromium`` and ``chromium-driver``), driven by Selenium
for the dashboard's tests. No browser is downloaded: Selenium is pointed at the system's
Chromium and ChromeDriver (missing: fail under ``CI=true``, skip elsewhere).

Selenium's calls block, and the controller under test runs in the test's own event loop, so
every call goes through a thread (:meth:`Browser.call`) while the loop keeps serving.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from tests.real_programs import need

T = TypeVar("T")

FLAGS = (
    "--headless=new",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    # This machine's network is closed: no background connections to Google's services.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--window-size=1280,900",
)


class Browser:
    def __init__(self, driver: webdriver.Chrome) -> None:
        self.driver = driver

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)

    async def get(self, url: str) -> None:
        await self.call(self.driver.get, url)

    async def find(self, css: str) -> WebElement:
        return await self.call(self.driver.find_element, By.CSS_SELECTOR, css)

    async def all(self, css: str) -> list[WebElement]:
        return await self.call(self.driver.find_elements, By.CSS_SELECTOR, css)

    async def text(self, css: str) -> str | None:
        """The element's text now, or None when there is none (or it was just replaced)."""

        def read() -> str | None:
            try:
                return str(self.driver.find_element(By.CSS_SELECTOR, css).text)
            except (NoSuchElementException, StaleElementReferenceException):
                return None

        return await self.call(read)

    async def until(
        self, check: Callable[[], Any], timeout: float, what: str, interval: float = 0.05
    ) -> Any:
        """Poll ``check`` (in a thread) until it is truthy, at most ``timeout`` seconds: the
        bound is the requirement under test (a page live within 1 s), not a guess."""
        deadline = time.monotonic() + timeout

        def safely() -> Any:
            try:
                return check()
            except (NoSuchElementException, StaleElementReferenceException):
                return None  # a live region was being replaced: look again

        while True:
            found = await self.call(safely)
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"not within {timeout:g}s: {what}")
            await asyncio.sleep(interval)

    def script(self, source: str) -> Any:
        return self.driver.execute_script(source)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    binary, driver_path = need("chromium"), need("chromedriver")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.TemporaryDirectory(prefix="chromium-")
    options.add_argument(f"--user-data-dir={profile.name}")
    driver = await asyncio.to_thread(
        webdriver.Chrome, service=Service(driver_path), options=options
    )
    try:
        yield Browser(driver)
    finally:
        await asyncio.to_thread(driver.quit)
        profile.cleanup()
