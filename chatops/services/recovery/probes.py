"""Checks that need no running controller: the data and cache directories, the database file,
the webhooks. The controller's diagnostics and ``chatops doctor`` both run them."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import aiohttp

from chatops.presentation.formatting import redact_url
from chatops.records.health import Health, HealthStatus

Status = Literal["ok", "warning", "failing"]
LOW_DISK_MB = 1024
CRITICAL_DISK_MB = 100


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    latency_ms: float | None
    detail: str


def assess(checks: Sequence[Check]) -> Health:
    """``ok`` when every check is, ``failing`` when one fails, else ``degraded``."""
    failing = [c for c in checks if c.status == "failing"]
    warning = [c for c in checks if c.status == "warning"]
    status: HealthStatus = "failing" if failing else "degraded" if warning else "ok"
    reasons = tuple(f"{c.name}: {c.detail}" for c in failing + warning)
    return Health(status, reasons, len(checks))


def summarise(checks: Sequence[Check]) -> dict[str, Any]:
    """:func:`assess`, as the socket and ``chatops doctor --json`` show it."""
    return assess(checks).to_dict()


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


def creatable(path: Path, *, directory: bool) -> str | None:
    """Why start could not create ``path`` (a directory, or a file with its directories), or
    None when it could.

    Asking ``os.access`` is not enough: root may "write" anywhere, ``/proc`` included, and a
    read-only mount says nothing until something is created. So the nearest existing ancestor
    is tried for real, as start will use it: a file is made and removed there when the file's
    own directory exists, else a directory (start makes the missing ones)."""
    anchor = next((p for p in (path, *path.parents) if p.exists()), Path("/"))
    if not anchor.is_dir():
        return f"{anchor} is not a directory"
    try:
        if not directory and anchor == path.parent:
            with tempfile.NamedTemporaryFile(dir=anchor, prefix=".doctor-"):
                pass
        else:
            os.rmdir(tempfile.mkdtemp(dir=anchor, prefix=".doctor-"))
    except OSError as exc:
        return f"nothing can be created in {anchor}: {exc.strerror or exc}"
    return None


def check_missing_dir(name: str, path: Path) -> Check:
    """A directory that start will make: a warning when it can, failing when it never can."""
    why = creatable(path, directory=True)
    if why is not None:
        return Check(name, "failing", None, f"{path} does not exist and cannot be made ({why})")
    return Check(name, "warning", None, f"{path} does not exist yet (made at start)")


def check_cache_dir(root: Path, warning_mb: float) -> Check:
    if not root.exists():
        return check_missing_dir("cache", root)
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
        why = creatable(path, directory=False)
        if why is not None:
            return Check(
                "database", "failing", None, f"{path} does not exist and cannot be made ({why})"
            )
        return Check("database", "warning", None, f"{path} does not exist yet (made at start)")
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


NOT_FOR_THIS_METHOD = frozenset({405, 501})
"""What a receiver that takes POST only answers the probe's HEAD: Method Not Allowed, or Not
Implemented (Python's ``http.server`` without ``do_HEAD``). It answered: it is reachable."""


async def _webhook(url: str, session: aiohttp.ClientSession, timeout: float) -> Check:
    """Reachable when it answers anything at all but a server error (a POST-only receiver's
    refusal of HEAD included); the URL is a secret: only its host is named."""
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
    if status in NOT_FOR_THIS_METHOD:
        return Check(name, "ok", latency, f"reachable (HTTP {status} to HEAD: it takes POST)")
    if status >= 500:
        return Check(name, "warning", latency, f"answered HTTP {status}")
    return Check(name, "ok", latency, f"reachable (HTTP {status})")


def check_socket_decisions(
    mode: str, own_uid: int, agent_uids: Collection[int] | None, socket_group: str | None
) -> Check:
    """Whether agents share the operator's uid while ``chatops approvals`` may decide over the
    socket (``mode`` is ``approvals.socket_decisions``). Same uid is one trust domain: such an
    agent could get a terminal of its own or edit the database, whatever the socket checks, so
    it is a warning naming the hard line. ``agent_uids``: those a running controller saw; None
    without one, when only the config can tell (no ``socket_group``: our uid only)."""
    name = "approvals"
    if mode == "off":
        return Check(name, "ok", None, "approvals.socket_decisions is off: Discord decides")
    hard_line = (
        f"while approvals.socket_decisions is {mode}: same uid is one trust domain; run "
        "agents under another uid, admitted with monitoring.socket_group"
    )
    if agent_uids is None:
        if socket_group is None:
            detail = f"agents can only connect under uid {own_uid} (no socket_group), {hard_line}"
            return Check(name, "warning", None, detail)
        detail = f"decisions ({mode}) from uid {own_uid}; agents through group {socket_group}"
        return Check(name, "ok", None, detail)
    if own_uid in agent_uids:
        detail = f"agents run under uid {own_uid}, the controller's, {hard_line}"
        return Check(name, "warning", None, detail)
    seen = ", ".join(str(uid) for uid in sorted(agent_uids)) or "none yet"
    return Check(name, "ok", None, f"decisions ({mode}) from uid {own_uid}; agents' uids: {seen}")


CONNECTIONS_NEAR = 0.8
"""At this share of ``monitoring.max_connections_per_uid``, a uid's fleet is near its cap."""


def check_connections_per_uid(bots_by_uid: Mapping[int | None, int], limit: int) -> Check:
    """Whether one uid's registered bots approach ``monitoring.max_connections_per_uid``: past
    it, their connections are refused (each bot holds one), so a large fleet run by one user
    stops growing without a word to its bots."""
    name = "connections"
    crowded = {uid: n for uid, n in bots_by_uid.items() if n >= CONNECTIONS_NEAR * limit}
    if not crowded:
        most = max(bots_by_uid.values(), default=0)
        return Check(name, "ok", None, f"{most} of {limit} connections per uid at most")
    uid, count = max(crowded.items(), key=lambda item: item[1])
    return Check(
        name,
        "warning",
        None,
        f"uid {uid} runs {count} bots, near monitoring.max_connections_per_uid ({limit}): "
        "raise it (and the open-file limit) before its next bots are refused",
    )
