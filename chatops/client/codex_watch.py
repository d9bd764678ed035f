"""``chatops watch codex``: follow Codex's session logs and report its quotas, as a bot.

The watcher registers itself (``--agent``, default ``codex``), heartbeats, and for every
``token_count`` event in a rollout file sends ``model_usage`` (pools ``codex primary`` and
``codex secondary``) and ``usage_totals`` (the session's running tokens; Codex logs no cost, so
the controller's price table prices them).

Files are tailed by offset, kept in memory: only whole lines are read, and a file that shrank
or was replaced (another inode) is read again from its start. The folder is rescanned every
``rescan`` seconds for new files. At start, and for a file seen for the first time, only its
latest ``token_count`` is reported (totals are cumulative and pools absolute: the latest says
it all), files oldest first so the newest pools win; a file untouched for ``max_age`` is not
read until it changes. A report the controller did not take is not retried: the next event
carries the same figures, newer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from chatops.client.codex_logs import RolloutState, TokenCount
from chatops.client.monitor import MonitorClient

log = logging.getLogger("chatops.watch")

PATTERN = "**/rollout-*.jsonl"
MAX_READ = 8 << 20
"""At most this much of one file per poll (a huge backlog is read over several polls)."""


@dataclass(slots=True)
class RolloutTail:
    """One rollout file: how far it has been read, and what it has said."""

    path: Path
    inode: int = 0
    offset: int = 0
    state: RolloutState = field(default_factory=RolloutState)
    seen: bool = False
    """Read once already: from now on every new event is reported."""

    def read(self, now: float) -> list[TokenCount]:
        """The ``token_count`` events in the whole lines added since the last read (only the
        latest on the first read)."""
        try:
            stat = self.path.stat()
        except OSError:
            return []
        if stat.st_ino != self.inode or stat.st_size < self.offset:
            # New, replaced or truncated: from the start, with a fresh state.
            self.inode, self.offset, self.state = stat.st_ino, 0, RolloutState()
        if stat.st_size == self.offset:
            self.seen = True
            return []
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read(min(MAX_READ, stat.st_size - self.offset))
        except OSError:
            return []
        end = chunk.rfind(b"\n")
        if end < 0:
            return []  # a line being written: next time
        self.offset += end + 1
        events = [
            event
            for line in chunk[: end + 1].splitlines()
            if line.strip() and (event := self.state.feed(line, now)) is not None
        ]
        first = not self.seen
        self.seen = self.offset >= stat.st_size
        return events[-1:] if first else events


@dataclass(slots=True)
class SessionFiles:
    """Every rollout file under ``root``, rescanned now and then."""

    root: Path
    max_age: float = 7 * 86400.0
    tails: dict[Path, RolloutTail] = field(default_factory=dict)
    mtimes: dict[Path, float] = field(default_factory=dict)

    def rescan(self, now: float) -> None:
        """Find new files; a file untouched for ``max_age`` is left alone until it changes."""
        for path in self.root.glob(PATTERN):
            try:
                mtime = path.stat().st_mtime
            except OSError:
                continue
            known = self.mtimes.get(path)
            self.mtimes[path] = mtime
            if path in self.tails or (known is None and now - mtime > self.max_age):
                continue
            if known is not None and known == mtime:
                continue
            self.tails[path] = RolloutTail(path)
        for path in [p for p in self.tails if not p.exists()]:
            del self.tails[path]
            self.mtimes.pop(path, None)

    def poll(self, now: float) -> list[TokenCount]:
        """What every tracked file said since the last poll, files oldest first."""
        ordered = sorted(self.tails.values(), key=lambda tail: self.mtimes.get(tail.path, 0.0))
        return [event for tail in ordered for event in tail.read(now)]


async def report(client: MonitorClient, agent: str, event: TokenCount) -> bool:
    """One ``token_count`` as ``model_usage`` and ``usage_totals``; True when all were taken."""
    ok = True
    if event.pools:
        ok = await client.report_pools(agent, event.model, "openai", event.pools)
    if event.session and (event.tokens_in is not None or event.tokens_out is not None):
        ok = (
            await client.report_totals(
                agent,
                event.session,
                event.model,
                tokens_in=event.tokens_in or 0,
                tokens_out=event.tokens_out or 0,
            )
            and ok
        )
    return ok


async def watch_codex(
    client: MonitorClient,
    agent: str,
    root: Path,
    *,
    poll: float = 1.0,
    rescan: float = 5.0,
    heartbeat: float = 30.0,
    stop: asyncio.Event | None = None,
) -> None:
    """Register ``agent`` and report what Codex logs under ``root`` until ``stop`` is set."""
    stop = stop or asyncio.Event()
    await client.register_with_monitor(agent, os.getpid(), {"codex_watch": True})
    beating = asyncio.create_task(client.start_heartbeat(agent, heartbeat))
    files = SessionFiles(root)
    next_scan = 0.0
    try:
        while not stop.is_set():
            now = time.time()
            if time.monotonic() >= next_scan:
                await asyncio.to_thread(files.rescan, now)
                next_scan = time.monotonic() + rescan
            for event in await asyncio.to_thread(files.poll, now):
                if not await report(client, agent, event):
                    log.debug("a token_count was not taken; the next one carries it")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll)
    finally:
        beating.cancel()
        await asyncio.gather(beating, return_exceptions=True)
