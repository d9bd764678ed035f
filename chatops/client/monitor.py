"""``MonitorClient``: what a bot links to talk to the controller. It never raises into the bot.

A bot registers, heartbeats and unregisters under the names existing bot code calls::

    client = MonitorClient()
    await client.register_with_monitor(channel="el_serda", pid=os.getpid(), features={"llm": 1})
    task = asyncio.create_task(client.start_heartbeat("el_serda", interval=30))
    await client.unregister_from_monitor("el_serda", os.getpid())

One background task owns the connection: it connects, re-registers every channel, replays the
spool, and on any failure waits a capped, jittered exponential backoff before trying again.

Messages are the protocol's own types, checked before they are sent (a bad field is logged and
the call returns False). A request waits ``request_timeout``, or the call's ``timeout``. Pushes
from the controller go to the handlers registered with :meth:`MonitorClient.on_push`. Asking
before acting (``request_approval``, ``should_accept_action``) is in :mod:`.approvals`, the
cache calls in :mod:`.cache`, quotas it did not count itself (a provider's rate-limit headers,
an agent's running totals: ``report_rate_limits``, ``report_totals``) in :mod:`.rate_limits`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec
import psutil

from chatops.client.approvals import ApprovalCalls
from chatops.client.blocking import resolve_socket_path
from chatops.client.cache import CacheCalls
from chatops.client.control import ControlCalls
from chatops.client.messages import checked as _checked
from chatops.client.pushes import (
    PushDispatcher,
)
from chatops.client.rate_limits import QuotaCalls
from chatops.client.spool import Spool, SpooledEvent
from chatops.runtime.tasks import create_task
from chatops.wire.protocol import (
    PUSH_TYPES,
    AgentStatus,
    GetStatus,
    GetUsage,
    Heartbeat,
    LlmUsage,
    Message,
    Ping,
    Register,
    TaskResult,
    Unregister,
    encode_message,
)

log = logging.getLogger("chatops.client")

_RETRYABLE = frozenset({"storage_error", "shutting_down", "internal_error"})


class MonitorClient(ApprovalCalls, CacheCalls, ControlCalls, QuotaCalls):
    def __init__(
        self,
        socket_path: str | os.PathLike[str] | None = None,
        *,
        spool_size: int = 10_000,
        request_timeout: float = 5.0,
        connect_timeout: float = 1.0,
        backoff_initial: float = 0.1,
        backoff_max: float = 30.0,
    ) -> None:
        self.socket_path = resolve_socket_path(socket_path)
        self.spool = Spool(spool_size)
        self.request_timeout = request_timeout
        self.connect_timeout = connect_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._event_ids: dict[int, str] = {}
        self._registrations: dict[str, Register] = {}
        self._pushes = PushDispatcher(self._send)
        self._pushes.register("control", self.default_control)
        self._writer: asyncio.StreamWriter | None = None
        self._connected = asyncio.Event()
        self._first_attempt = asyncio.Event()
        self._manager: asyncio.Task[None] | None = None
        self._closed = False
        self._process = psutil.Process()
        self.connects = 0
        self.on_restart: list[Callable[[], Awaitable[None]]] = []
        """Run before the default ``restart`` handler exits the process."""

    # -- registration and heartbeats, under the names existing bot code calls -------------------

    async def register_with_monitor(
        self,
        channel: str,
        pid: int | None = None,
        features: Mapping[str, Any] | None = None,
        *,
        host: str | None = None,
        timeout: float | None = None,
    ) -> bool:
        """Register (and re-register after every reconnect). True once the monitor confirmed."""
        message = _checked(
            Register,
            channel=channel,
            pid=pid or os.getpid(),
            features=dict(features or {}),
            host=host or None,
        )
        if message is None:
            return False
        self._registrations[channel] = message
        return await self._request_ok(message, timeout)

    async def unregister_from_monitor(
        self, channel: str, pid: int | None = None, *, timeout: float | None = None
    ) -> bool:
        self._registrations.pop(channel, None)
        message = _checked(Unregister, channel=channel, pid=pid or os.getpid())
        return message is not None and await self._request_ok(message, timeout)

    async def start_heartbeat(self, channel: str, interval: float = 30) -> None:
        """Heartbeat (RSS, CPU) every ``interval`` s until cancelled (for ``create_task``)."""
        while True:
            await self.heartbeat(channel)
            await asyncio.sleep(interval)

    async def heartbeat(self, channel: str) -> bool:
        """One heartbeat; a heartbeat that cannot be sent now is dropped, not spooled, since the
        next one supersedes it."""
        try:
            rss_mb = self._process.memory_info().rss / 1_048_576
            cpu_pct = self._process.cpu_percent(None)
        except psutil.Error:
            rss_mb, cpu_pct = None, None
        message = _checked(
            Heartbeat, channel=channel, pid=os.getpid(), rss_mb=rss_mb, cpu_pct=cpu_pct
        )
        return message is not None and await self._send(message)

    # -- exactly-once events ---------------------------------------------------------------------

    async def log_usage(self, **fields: Any) -> bool:
        """Queue one ``llm_usage`` event; True when the monitor has committed it already."""
        event = _checked(LlmUsage, **fields)
        return event is not None and await self.send_event(event)

    async def agent_status(self, agent: str, status: str, **fields: Any) -> bool:
        message = _checked(AgentStatus, agent=agent, status=status, **fields)
        return message is not None and await self._send(message)

    async def task_result(self, agent: str, success: bool, **fields: Any) -> bool:
        event = _checked(TaskResult, agent=agent, success=success, **fields)
        return event is not None and await self.send_event(event)

    async def send_event(self, event: SpooledEvent) -> bool:
        """Spool ``event`` with an idempotency key and its creation time, then try to deliver it.

        The event leaves the spool only when the monitor acknowledges its commit; until then it
        is replayed after every reconnect, and the key makes the monitor store it once.
        """
        key = event.key or uuid.uuid4().hex
        event = msgspec.structs.replace(event, key=key, ts=event.ts or time.time())
        self.spool.add(key, event)
        if not await self._wait_connected():
            return False
        return await self._deliver(key, event)

    async def _deliver(self, key: str, event: SpooledEvent) -> bool:
        reply = await self._request(event, event_key=key)
        return reply is not None and bool(reply.get("ok"))

    # -- queries ---------------------------------------------------------------------------------

    async def get_status(self, *, timeout: float | None = None) -> dict[str, Any] | None:
        return await self._request(GetStatus(), timeout=timeout)

    async def get_usage(
        self, channel: str | None = None, days: int = 30, *, timeout: float | None = None
    ) -> dict[str, Any] | None:
        return await self._request(GetUsage(channel=channel, days=days), timeout=timeout)

    async def ping(self, *, timeout: float | None = None) -> bool:
        reply = await self._request(Ping(), timeout=timeout)
        return bool(reply and reply.get("ok"))

    # -- lifecycle -------------------------------------------------------------------------------

    async def close(self) -> None:
        self._closed = True
        await self._pushes.close()
        if self._manager is not None:
            self._manager.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._manager
            self._manager = None
        self._drop_connection()

    async def __aenter__(self) -> MonitorClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def registered_channels(self) -> list[str]:
        return list(self._registrations)

    async def wait_connected(self, timeout: float) -> bool:
        self._ensure_manager()
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def drain_spool(self, timeout: float) -> bool:
        """Wait until every spooled event is acknowledged (for a clean shutdown)."""
        deadline = time.monotonic() + timeout
        while len(self.spool) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return not len(self.spool)

    # -- internals -------------------------------------------------------------------------------

    def _ensure_manager(self) -> None:
        if self._manager is None and not self._closed:
            self._manager = create_task(self._manage(), name="chatops-monitor-client")

    async def _wait_connected(self) -> bool:
        """Connected now, or on the very first attempt; once the monitor is known to be down,
        calls return at once instead of making the bot wait."""
        self._ensure_manager()
        if self._connected.is_set():
            return True
        if self._first_attempt.is_set():
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._first_attempt.wait(), self.connect_timeout * 2)
        return self._connected.is_set()

    async def _request_ok(self, message: Message, timeout: float | None) -> bool:
        reply = await self.request(message, timeout=timeout)
        return bool(reply and reply.get("ok"))

    async def request(
        self, message: Message, *, timeout: float | None = None
    ) -> dict[str, Any] | None:
        """Any request, as the protocol's type; the reply (``ok`` true or false), or None when
        the monitor could not be reached or did not answer in time."""
        return (
            await self._request(message, timeout=timeout) if await self._wait_connected() else None
        )

    async def send(self, message: Message) -> bool:
        """Any message without waiting for an answer; False when there is no connection."""
        return await self._send(message)

    async def _send(self, message: Message) -> bool:
        """Fire and forget; False when there is no connection."""
        if not await self._wait_connected() or self._writer is None:
            return False
        try:
            self._writer.write(encode_message(message))
        except (OSError, RuntimeError):
            return False
        return True

    async def _request(
        self,
        message: Message,
        *,
        timeout: float | None = None,
        event_key: str | None = None,
    ) -> dict[str, Any] | None:
        """Send with an id, wait for the reply; None on any failure, never an exception."""
        writer = self._writer
        if writer is None:
            return None
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        if event_key is not None:
            self._event_ids[request_id] = event_key
        try:
            writer.write(encode_message(msgspec.structs.replace(message, id=request_id)))
            wait = self.request_timeout if timeout is None else timeout
            return await asyncio.wait_for(future, wait)
        except (OSError, RuntimeError, TimeoutError, ConnectionError):
            return None
        finally:
            self._pending.pop(request_id, None)
            self._event_ids.pop(request_id, None)

    async def _manage(self) -> None:
        delay = self.backoff_initial
        while not self._closed:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_unix_connection(str(self.socket_path), limit=1 << 20),
                    self.connect_timeout,
                )
            except (OSError, TimeoutError) as exc:
                self._first_attempt.set()
                log.debug("monitor unreachable at %s: %s", self.socket_path, exc)
                await asyncio.sleep(random.uniform(0, delay))  # full jitter
                delay = min(self.backoff_max, delay * 2)
                continue
            delay = self.backoff_initial
            self.connects += 1
            self._writer = writer
            self._connected.set()
            self._first_attempt.set()
            resync = create_task(self._resync(), name="chatops-monitor-resync")
            try:
                await self._read_replies(reader)
            finally:
                resync.cancel()
                self._drop_connection()
            if not self._closed:
                await asyncio.sleep(random.uniform(0, self.backoff_initial))

    async def _resync(self) -> None:
        """After (re)connecting: register every channel again, then replay the spool."""
        for message in list(self._registrations.values()):
            await self._request(message)
        pending = self.spool.pending()
        if pending:
            log.info("spooled events to replay: %d", len(pending))
            await asyncio.gather(*(self._deliver(key, event) for key, event in pending))

    async def _read_replies(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                line = await reader.readline()
            except (OSError, ValueError):
                return
            if not line:
                return
            try:
                reply = json.loads(line)
            except ValueError:
                continue
            if not isinstance(reply, dict):
                continue
            if "ok" not in reply and reply.get("type") in PUSH_TYPES:
                self._pushes.dispatch(line)
                continue
            self._on_reply(reply)

    def _on_reply(self, reply: dict[str, Any]) -> None:
        request_id = reply.get("id")
        if not isinstance(request_id, int):
            if not reply.get("ok", True):
                log.warning("monitor reported: %s", reply.get("error"))
            return
        key = self._event_ids.get(request_id)
        if key is not None:
            error = reply.get("error") or {}
            if reply.get("ok") or error.get("code") not in _RETRYABLE:
                if not reply.get("ok"):
                    log.warning("monitor rejected event %s: %s", key, error)
                self.spool.ack(key)
        future = self._pending.get(request_id)
        if future is not None and not future.done():
            future.set_result(reply)

    def _drop_connection(self) -> None:
        self._connected.clear()
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionResetError("monitor connection lost"))
        self._pending.clear()
        self._event_ids.clear()
