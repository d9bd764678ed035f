"""``chatops run``'s event loop: uvloop when installed and not turned off."""

from __future__ import annotations

import asyncio

import pytest

from chatops.runtime.loop import loop_name, run, uvloop_available


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_uvloop_is_used_when_installed_and_asked_for() -> None:
    if not uvloop_available():
        pytest.skip("uvloop is not installed here (it is on Linux with CPython)")
    assert run(_loop_module()).startswith("uvloop")
    assert loop_name(True) == "uvloop"


def test_asyncio_when_uvloop_is_turned_off() -> None:
    assert run(_loop_module(), use_uvloop=False).startswith("asyncio")
    assert loop_name(False) == "asyncio"
