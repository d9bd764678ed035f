"""A thin synchronous wrapper for bots that are not async: the async client runs in a private
event loop on a daemon thread, and every call waits a bounded time for it."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine, Mapping
from concurrent.futures import Future
from typing import Any, TypeVar

from chatops.client.monitor import MonitorClient

T = TypeVar("T")


class SyncMonitorClient:
    def __init__(
        self,
        socket_path: str | os.PathLike[str] | None = None,
        *,
        call_timeout: float = 10.0,
        **options: Any,
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="chatops-client", daemon=True
        )
        self._thread.start()
        self._timeout = call_timeout
        self._heartbeats: dict[str, Future[None]] = {}
        self.client: MonitorClient = self._call(self._make(socket_path, options))

    @staticmethod
    async def _make(socket_path: Any, options: dict[str, Any]) -> MonitorClient:
        return MonitorClient(socket_path, **options)

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(self._timeout)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a call of the async client on its thread and wait (bounded) for its result."""
        return self._call(coro)

    def register_with_monitor(
        self, channel: str, pid: int | None = None, features: Mapping[str, Any] | None = None
    ) -> bool:
        return self._call(self.client.register_with_monitor(channel, pid, features))

    def unregister_from_monitor(self, channel: str, pid: int | None = None) -> bool:
        self.stop_heartbeat(channel)
        return self._call(self.client.unregister_from_monitor(channel, pid))

    def start_heartbeat(self, channel: str, interval: float = 30) -> None:
        """Heartbeat in the background thread; returns at once."""
        if channel not in self._heartbeats:
            self._heartbeats[channel] = asyncio.run_coroutine_threadsafe(
                self.client.start_heartbeat(channel, interval), self._loop
            )

    def stop_heartbeat(self, channel: str) -> None:
        future = self._heartbeats.pop(channel, None)
        if future is not None:
            future.cancel()

    def log_usage(self, **fields: Any) -> bool:
        return self._call(self.client.log_usage(**fields))

    def report_rate_limits(self, provider: str, headers: Any, **options: Any) -> bool:
        """The pools in a provider's response headers (see
        :meth:`~chatops.client.rate_limits.QuotaCalls.report_rate_limits`)."""
        return self._call(self.client.report_rate_limits(provider, headers, **options))

    def task_result(self, agent: str, success: bool, **fields: Any) -> bool:
        return self._call(self.client.task_result(agent, success, **fields))

    def agent_status(self, agent: str, status: str, **fields: Any) -> bool:
        return self._call(self.client.agent_status(agent, status, **fields))

    def request_approval(
        self,
        action_type: str,
        data: dict[str, Any],
        *,
        timeout: float | None = None,
        agent: str | None = None,
    ) -> dict[str, Any]:
        """Blocks until decided: the call's own wait bounds it, not ``call_timeout``."""
        bound = (timeout or 300.0) + 90.0
        return asyncio.run_coroutine_threadsafe(
            self.client.request_approval(action_type, data, timeout=timeout, agent=agent),
            self._loop,
        ).result(bound)

    def should_accept_action(self, action_type: str, action_data: dict[str, Any]) -> dict[str, Any]:
        return self._call(self.client.should_accept_action(action_type, action_data))

    def create_cache_entry(
        self, task_id: str, agent_type: str, files: dict[str, str | bytes], **options: Any
    ) -> dict[str, Any] | None:
        return self._call(self.client.create_cache_entry(task_id, agent_type, files, **options))

    def register_cache_entry(
        self, task_id: str, agent_type: str, path: str | os.PathLike[str], **options: Any
    ) -> dict[str, Any] | None:
        return self._call(self.client.register_cache_entry(task_id, agent_type, path, **options))

    def finish_cache_entry(self, task_id: str, *, agent: str | None = None) -> bool:
        return self._call(self.client.finish_cache_entry(task_id, agent=agent))

    def drain_spool(self, timeout: float = 10.0) -> bool:
        return self._call(self.client.drain_spool(timeout))

    def close(self) -> None:
        for channel in list(self._heartbeats):
            self.stop_heartbeat(channel)
        self._call(self.client.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
