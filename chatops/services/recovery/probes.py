"""Checks that need no running controller: the data and cache directories, the database file,
the webhooks. The controller's diagnostics and ``chatops doctor`` both run them."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import aiohttp

from chatops.alerts.sinks import redact_url

Status = Literal["ok", "warning", "failing"]
LOW_DISK_MB = 1024
CRITICAL_DISK_MB = 100


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    latency_ms: float | None
    detail: str


def summarise(checks: Sequence[Check]) -> dict[str, Any]:
    """``ok`` when every check is, ``failing`` when one fails, else ``degraded``."""
    failing = [c for c in checks if c.status == "failing"]
    warning = [c for c in checks if c.status == "warning"]
    status = "failing" if failing else "degraded" if warning else "ok"
    return {
        "status": status,
        "reasons": [f"{c.name}: {c.detail}" for c in failing + warning],
        "checks": len(checks),
    }


def check_data_dir(path: Path) -> Check:
    """Writable (a file is created and removed) with room to spare."""
    started = time.perf_counter()
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-"):
            pass
    except OSError as exc:
        return Check(
            "filesystem", "failing", None, f"{path} is not writable: {exc.strerror or exc}"
        )
    latency = (time.perf_counter() - started) * 1000
    usage = shutil.disk_usage(path)
    free_mb = usage.free / 1_048_576
    detail = f"{path} writable, {free_mb:,.0f} MB free ({usage.free / usage.total:.0%})"
    if free_mb < CRITICAL_DISK_MB:
        return Check("filesystem", "failing", latency, detail)
    if free_mb < LOW_DISK_MB or usage.free / usage.total < 0.05:
        return Check("filesystem", "warning", latency, detail)
    return Check("filesystem", "ok", latency, detail)


def check_cache_dir(root: Path, warning_mb: float) -> Check:
    if not root.exists():
        return Check("cache", "warning", None, f"{root} does not exist yet (made at start)")
    if root.is_symlink() or not root.is_dir():
        return Check("cache", "failing", None, f"{root} is not a directory")
    if not os.access(root, os.W_OK | os.X_OK):
        return Check("cache", "failing", None, f"{root} is not writable")
    mode = root.stat().st_mode
    if mode & 0o002:
        return Check("cache", "failing", None, f"{root} is world-writable")
    return Check("cache", "ok", None, f"{root} writable (warning over {warning_mb:g} MB)")


def check_database_file(path: Path) -> Check:
    """Without a controller: the file opens read-only and passes ``quick_check``."""
    if not path.exists():
        if os.access(path.parent if path.parent.exists() else Path("."), os.W_OK):
            return Check("database", "warning", None, f"{path} does not exist yet (made at start)")
        return Check("database", "failing", None, f"{path} does not exist and cannot be made")
    started = time.perf_counter()
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            result = conn.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return Check("database", "failing", None, f"{path}: {exc}")
    latency = (time.perf_counter() - started) * 1000
    size = path.stat().st_size / 1_048_576
    if result != "ok":
        return Check("database", "failing", latency, f"{path}: quick_check {result}")
    if not os.access(path, os.W_OK):
        return Check("database", "failing", latency, f"{path} is not writable")
    return Check("database", "ok", latency, f"{path}: {size:.1f} MB, quick_check ok")


async def check_webhooks(
    urls: Sequence[str], session: aiohttp.ClientSession, timeout: float
) -> list[Check]:
    return list(await asyncio.gather(*(_webhook(url, session, timeout) for url in urls)))


async def _webhook(url: str, session: aiohttp.ClientSession, timeout: float) -> Check:
    """Reachable when it answers anything at all (a 405 to HEAD included); the URL is a
    secret: only its host is named."""
    name = f"webhook {redact_url(url)}"
    started = time.perf_counter()
    try:
        async with session.head(
            url, timeout=aiohttp.ClientTimeout(total=timeout), allow_redirects=False
        ) as response:
            status = response.status
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return Check(name, "failing", None, f"unreachable: {type(exc).__name__}")
    latency = (time.perf_counter() - started) * 1000
    if status >= 500:
        return Check(name, "warning", latency, f"answered HTTP {status}")
    return Check(name, "ok", latency, f"reachable (HTTP {status})")
