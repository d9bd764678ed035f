"""Live pages: what changed, told to every open page over server-sent events.

Why server-sent events and not a websocket: updates only flow one way (server to browser; what a
user does is an ordinary form POST with its CSRF token), EventSource reconnects by itself, and it
is plain HTTP through any reverse proxy. An event names *topics* (``fleet``, ``approvals``,
``quotas``, ``incidents``, ``cache``), never data: the page fetches the parts it shows again,
rendered by the server like the page itself. So a client that reconnects catches up by
fetching once, and nothing per client grows with the fleet's activity: each client holds at most
one pending set of topics, sent at most every :data:`COALESCE` seconds. A client that does not
read what it is sent within :data:`WRITE_TIMEOUT` is dropped (its browser reconnects).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Hashable

from aiohttp import web

from chatops.records.alerts import Incident
from chatops.records.fleet import FleetEvent
from chatops.runtime.bus import EventBus
from chatops.services.approvals.events import ApprovalRequested, ApprovalSettled, ApprovalUpdated
from chatops.services.cache.events import CacheCleaned, CacheOverWarning, CacheUnderWarning
from chatops.services.quotas.events import QuotaCleared, QuotaCrossed

log = logging.getLogger(__name__)

COALESCE = 0.25
"""At most four updates a second per client: a storm of changes is one refresh."""
WRITE_TIMEOUT = 5.0
KEEPALIVE = 15.0
"""A comment line this often keeps proxies from closing an idle stream."""
FRAGMENT_TTL = 1.0
MAX_FRAGMENTS = 256
TOPICS = frozenset({"fleet", "approvals", "quotas", "incidents", "cache"})


class LiveClient:
    def __init__(self) -> None:
        self.pending: set[str] = set()
        self.woken = asyncio.Event()

    def tell(self, topic: str) -> None:
        self.pending.add(topic)
        self.woken.set()


class LiveHub:
    def __init__(self, bus: EventBus, on_incident: Callable[[Callable[[Incident], None]], None]):
        self.clients: set[LiveClient] = set()
        self.dropped = 0
        self.versions: Counter[str] = Counter()
        """How many times each topic changed: what a cached fragment was rendered at."""
        self._fragments: dict[tuple[str, Hashable], tuple[int, float, str]] = {}
        self.closing = False
        self._unsubscribe = [
            bus.subscribe(FleetEvent, lambda _: self.publish("fleet")),
            bus.subscribe(ApprovalRequested, lambda _: self.publish("approvals")),
            bus.subscribe(ApprovalUpdated, lambda _: self.publish("approvals")),
            bus.subscribe(ApprovalSettled, lambda _: self.publish("approvals")),
            bus.subscribe(QuotaCrossed, lambda _: self.publish("quotas")),
            bus.subscribe(QuotaCleared, lambda _: self.publish("quotas")),
            bus.subscribe(CacheOverWarning, lambda _: self.publish("cache")),
            bus.subscribe(CacheUnderWarning, lambda _: self.publish("cache")),
            bus.subscribe(CacheCleaned, lambda _: self.publish("cache")),
        ]
        on_incident(lambda _: self.publish("incidents"))

    def close(self) -> None:
        """Stop listening, and end every open stream now (the controller is stopping)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self.closing = True
        for client in self.clients:
            client.woken.set()

    def publish(self, topic: str) -> None:
        self.versions[topic] += 1
        for client in self.clients:
            client.tell(topic)

    def fragment(self, topic: str, key: Hashable, render: Callable[[], str]) -> str:
        """``render()``'s HTML, shared by every page that asks for the same ``key`` after the
        same change: a hundred open pages told of one change cost one render, not a hundred.
        Kept :data:`FRAGMENT_TTL` at most, so durations ("5 s ago") stay true."""
        now = time.monotonic()
        version = self.versions[topic]
        cached = self._fragments.get((topic, key))
        if cached is not None and cached[0] == version and now - cached[1] < FRAGMENT_TTL:
            return cached[2]
        if len(self._fragments) >= MAX_FRAGMENTS:
            self._fragments.clear()
        html = render()
        self._fragments[(topic, key)] = (version, now, html)
        return html

    async def stream(
        self, request: web.Request, signed_in: Callable[[], bool] = lambda: True
    ) -> web.StreamResponse:
        """``GET /events``: the topics that changed, as they change, while ``signed_in()``
        holds (a session revoked or expired ends its streams at their next write)."""
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        await response.prepare(request)
        client = LiveClient()
        self.clients.add(client)
        try:
            await self._write(response, b"retry: 1000\n\n")
            while signed_in() and not self.closing:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(client.woken.wait(), KEEPALIVE)
                if not client.woken.is_set():
                    await self._write(response, b": keepalive\n\n")
                    continue
                if self.closing:
                    break
                await asyncio.sleep(COALESCE)  # what else changed meanwhile goes along
                if not signed_in():
                    break
                topics, client.pending = sorted(client.pending), set()
                client.woken.clear()
                await self._write(response, f"data: {' '.join(topics)}\n\n".encode())
        except (ConnectionResetError, TimeoutError):
            self.dropped += 1
        finally:
            self.clients.discard(client)
        return response

    @staticmethod
    async def _write(response: web.StreamResponse, data: bytes) -> None:
        await asyncio.wait_for(response.write(data), WRITE_TIMEOUT)


LIVE_KEY = web.AppKey("live", LiveHub)
"""The app's hub, for a handler that changed something no bus event tells of (a silence made or
ended from the dashboard, a clean run from it): it publishes the topic itself."""
