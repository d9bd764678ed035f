"""The event loop ``chatops run`` runs on: uvloop where it is installed (a maintained drop-in
for asyncio's loop, built on libuv, that spends less CPU per read, write and timer), asyncio's
own otherwise or when ``monitoring.uvloop`` is off."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def uvloop_available() -> bool:
    return importlib.util.find_spec("uvloop") is not None


def loop_name(use_uvloop: bool) -> str:
    return "uvloop" if use_uvloop and uvloop_available() else "asyncio"


def run(main: Coroutine[Any, Any, T], *, use_uvloop: bool = True) -> T:
    """``asyncio.run(main)``, on uvloop when asked for and installed."""
    if loop_name(use_uvloop) == "uvloop":
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)
