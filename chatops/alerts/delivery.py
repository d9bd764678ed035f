"""Alert delivery: a persistent outbox, one row per alert per sink, retried until delivered.

An alert is written to ``alert_outbox`` before any attempt, and marked delivered after the sink
confirmed it, so an alert pending at a restart is delivered after it, once. Failures back off
exponentially (capped, with jitter); a 429 waits exactly what the sink's Retry-After says.
Attempts run as soon as an alert is committed, and the scheduler's delivery job retries.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp

from chatops.alerts.model import Alert
from chatops.alerts.render import discord_message, is_discord_webhook, plain_json
from chatops.config import AlertsConfig
from chatops.store import Store
from chatops.store.store import AlertTables
from chatops.timeutil import Clock, to_sqlite, wall_clock

log = logging.getLogger(__name__)

NEVER = 1e18


class DeliveryError(Exception):
    def __init__(
        self, message: str, *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class Sink(Protocol):
    name: str

    async def send(self, alert: Alert) -> None:
        """Deliver or raise :class:`DeliveryError`."""


def webhook_sink_name(url: str) -> str:
    """A stable name that identifies the URL without revealing its secret token."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return f"webhook:{urlsplit(url).hostname}:{digest}"


class WebhookSink:
    """POSTs the alert: a Discord embed to Discord webhooks, the plain JSON body elsewhere."""

    def __init__(
        self,
        url: str,
        session: Callable[[], aiohttp.ClientSession],
        timeout: float,
        mention_role_id: int | None = None,
    ) -> None:
        self._url = url
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._discord = is_discord_webhook(url)
        self._mention = mention_role_id
        self.name = webhook_sink_name(url)

    async def send(self, alert: Alert) -> None:
        body = discord_message(alert, self._mention) if self._discord else plain_json(alert)
        try:
            async with self._session().post(
                self._url, json=body, timeout=self._timeout
            ) as response:
                if 200 <= response.status < 300:
                    return
                text = (await response.text())[:200]
                if response.status == 429:
                    raise DeliveryError(
                        "rate limited (429)", retry_after=_retry_after(response.headers, text)
                    )
                permanent = 400 <= response.status < 500 and response.status != 408
                raise DeliveryError(f"HTTP {response.status}: {text}", permanent=permanent)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc


def _retry_after(headers: Mapping[str, str], body: str) -> float | None:
    for value in (headers.get("Retry-After"), headers.get("X-RateLimit-Reset-After")):
        if value:
            try:
                return max(0.0, float(value))
            except ValueError:
                continue
    try:
        data = json.loads(body)
        return max(0.0, float(data["retry_after"]))
    except (ValueError, KeyError, TypeError):
        return None


@dataclass(slots=True)
class OutboxItem:
    id: int
    created_at: float
    sink: str
    alert: Alert
    attempts: int = 0
    next_attempt_at: float = 0.0
    delivered_at: float | None = None
    last_error: str | None = None

    def row(self) -> tuple[Any, ...]:
        return (
            self.id,
            to_sqlite(self.created_at),
            self.sink,
            json.dumps(self.alert.to_dict()),
            self.attempts,
            self.next_attempt_at,
            None if self.delivered_at is None else to_sqlite(self.delivered_at),
            self.last_error,
        )


class AlertDelivery:
    def __init__(self, store: Store, config: AlertsConfig, *, clock: Clock = wall_clock) -> None:
        self._store = store
        self._tables = AlertTables(store)
        self._config = config
        self._clock = clock
        self.sinks: dict[str, Sink] = {}
        self._pending: dict[int, OutboxItem] = {}
        self._next_id = 1
        self._running: asyncio.Task[None] | None = None
        self._again = False
        self._tasks: set[asyncio.Task[None]] = set()

    def add_sink(self, sink: Sink) -> None:
        self.sinks[sink.name] = sink

    async def start(self) -> None:
        self._next_id = await self._tables.next_id("alert_outbox")
        now = self._clock()
        for row in await self._tables.pending_outbox():
            if row["next_attempt_at"] >= NEVER:
                continue
            item = OutboxItem(
                id=row["id"],
                created_at=0.0,
                sink=row["sink"],
                alert=Alert.from_dict(json.loads(row["payload_json"])),
                attempts=row["attempts"],
                # A restart is a natural moment to retry: don't sit out an old backoff.
                next_attempt_at=min(row["next_attempt_at"], now),
                last_error=row["last_error"],
            )
            item.created_at = item.alert.ts
            self._pending[item.id] = item
        if self._pending:
            log.info("%d alert deliveries pending from before the restart", len(self._pending))
            self.kick()

    @property
    def pending(self) -> list[OutboxItem]:
        return sorted(self._pending.values(), key=lambda item: item.id)

    def enqueue(self, alert: Alert) -> None:
        """Persist one delivery per sink; the attempt starts once that is committed."""
        now = self._clock()
        for sink in self.sinks:
            item = OutboxItem(
                id=self._next_id, created_at=now, sink=sink, alert=alert, next_attempt_at=now
            )
            self._next_id += 1
            self._pending[item.id] = item
            self._tables.save_outbox(item.row, item.id)
        self._store.after_commit(lambda error: self.kick() if error is None else None)

    def kick(self) -> None:
        """Run due deliveries now (or right after the run in progress)."""
        if self._running is not None and not self._running.done():
            self._again = True
            return
        self._running = asyncio.get_running_loop().create_task(self._run_until_idle())

    async def run_due(self) -> None:
        """The scheduler's job: retry whatever is due."""
        self.kick()

    async def close(self) -> None:
        tasks = [*self._tasks, *([self._running] if self._running is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run_until_idle(self) -> None:
        self._again = True
        while self._again:
            self._again = False
            now = self._clock()
            due = [i for i in self.pending if i.next_attempt_at <= now]
            if due:
                await asyncio.gather(*(self._attempt(item) for item in due))

    async def _attempt(self, item: OutboxItem) -> None:
        sink = self.sinks.get(item.sink)
        now = self._clock()
        if sink is None:
            item.last_error = "sink no longer configured"
            item.next_attempt_at = NEVER
            self._finish(item)
            return
        item.attempts += 1
        try:
            await sink.send(item.alert)
        except DeliveryError as exc:
            item.last_error = str(exc)[:500]
            if exc.permanent:
                item.next_attempt_at = NEVER
                log.error("alert %d to %s failed for good: %s", item.id, item.sink, exc)
                self._finish(item)
                return
            if exc.retry_after is not None:
                delay = exc.retry_after
            else:
                backoff = min(
                    self._config.retry_max, self._config.retry_initial * 2 ** (item.attempts - 1)
                )
                delay = random.uniform(backoff / 2, backoff)
            item.next_attempt_at = self._clock() + delay
            log.warning(
                "alert %d to %s failed (attempt %d, retry in %.1fs): %s",
                item.id,
                item.sink,
                item.attempts,
                delay,
                exc,
            )
            self._tables.save_outbox(item.row, item.id)
            self._schedule_retry(delay)
            return
        except Exception:
            log.exception("alert sink %s crashed", item.sink)
            item.next_attempt_at = self._clock() + self._config.retry_max
            self._tables.save_outbox(item.row, item.id)
            return
        item.delivered_at = now
        self._finish(item)

    def _finish(self, item: OutboxItem) -> None:
        self._pending.pop(item.id, None)
        self._tables.save_outbox(item.row, item.id)

    def _schedule_retry(self, delay: float) -> None:
        async def later() -> None:
            await asyncio.sleep(delay)
            self.kick()

        task = asyncio.get_running_loop().create_task(later())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
