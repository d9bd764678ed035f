"""A hub's door to its edges: beats and JetStream events in, commands out.

The host a message speaks for is read from its subject, never its body: NATS lets each host's
credential publish only under its own ``…edge.<host>.``, so a host cannot speak for another.
Events are taken from a durable pull consumer and acknowledged once what they wrote is
committed, so a hub that dies mid-batch is handed them again (and drops what it had stored, by
the event's id). A host the hub has no full list of (after either one started, after a silence
or a lost beat) is asked for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import replace
from types import TracebackType
from typing import Any

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import RetentionPolicy, StreamConfig
from nats.js.errors import BadRequestError

from chatops.composition.services import Services
from chatops.config import Settings
from chatops.nats.connect import Connection, NatsErrors, nats_check
from chatops.nats.messages import (
    ANSWER_DECODER,
    BEAT_DECODER,
    ENCODER,
    EVENT_DECODER,
    AgentChanged,
    AgentTask,
    ApprovalAsked,
    ApprovalEnded,
    BotChanged,
    CacheIndexed,
    Command,
    Event,
    Resync,
    Subjects,
    UsageReported,
    host_of,
)
from chatops.presentation.formatting import plural
from chatops.records.approvals import ApprovalAsk
from chatops.records.hosts import qualified, split_qualified
from chatops.runtime.tasks import TaskSet
from chatops.services.approvals.events import ApprovalSettled
from chatops.services.callers import Declined, LinkError, NoAnswer, NotConnected
from chatops.services.errors import DomainError
from chatops.services.hosts import HostsService
from chatops.services.recovery.probes import Check

log = logging.getLogger(__name__)

FETCH_BATCH = 256
EDGE_ACTIONS = frozenset({"restart", "approval_answer", "resync", "cache_plan", "cache_execute"})
"""What an edge does for the hub itself; any other action is pushed to one of its bots."""
AGENT_STATUSES = frozenset({"idle", "processing", "error"})
EDGE_KEY = "edge:"
"""An approval the hub holds for an edge has the key ``edge:<host>:<the edge's id>``."""


def bare(channel: str) -> str:
    """The edge's own name for a bot the hub calls ``host/name``."""
    return split_qualified(channel)[1]


class _HostLink:
    """The hub's :class:`~chatops.services.callers.AgentLink` to one edge: a push to one of
    its bots, or an action the edge does for the hub, as a NATS request."""

    def __init__(self, hub: HubLink, host: str) -> None:
        self._hub = hub
        self._subjects = Subjects(hub.prefix, host)

    @property
    def closed(self) -> bool:
        return not self._hub.connection.connected

    def tell(self, channel: str, action: str, reason: str | None = None) -> None:
        if self.closed:
            raise NotConnected("the hub is not connected to NATS")
        command = Command(bot=bare(channel), reason=reason, args={"action": action})
        self._hub.spawn(self._request("tell", command, self._hub.request_timeout))

    async def ask(
        self,
        channel: str,
        action: str,
        *,
        reason: str | None = None,
        args: dict[str, Any] | None = None,
        timeout: float,
    ) -> dict[str, Any]:
        if action in EDGE_ACTIONS:
            command = Command(bot=bare(channel), by=reason or "", args=args or {})
            return await self._request(action, command, timeout)
        forwarded = {"action": action, "args": args or {}, "timeout": timeout}
        command = Command(bot=bare(channel), reason=reason, args=forwarded)
        return await self._request("ask", command, timeout + self._hub.request_timeout)

    async def _request(self, action: str, command: Command, timeout: float) -> dict[str, Any]:
        client = self._hub.connection.client
        if client is None or self.closed:
            raise NotConnected("the hub is not connected to NATS")
        subject = self._subjects.command(action)
        try:
            reply = await client.request(subject, ENCODER.encode(command), timeout=timeout)
        except NatsTimeout:
            raise NoAnswer(f"no answer from its edge within {timeout:.0f}s") from None
        except Exception as exc:  # no responders, a connection that closed meanwhile
            raise NotConnected(
                f"its edge did not answer: {str(exc) or type(exc).__name__}"
            ) from None
        answer = ANSWER_DECODER.decode(reply.data)
        if answer.error is not None:
            raise Declined(answer.message or answer.error)
        return answer.data


class HubLink:
    """Started after the socket (an async context manager on the controller's stack)."""

    def __init__(self, services: Services, settings: Settings) -> None:
        if services.hosts is None:
            raise RuntimeError("a hub's link needs the hosts service (role 'hub')")
        self._services = services
        self._hosts: HostsService = services.hosts
        config = settings.nats
        self.prefix = config.subject_prefix
        self._url = config.url
        self._stream = config.stream
        self._window = config.duplicate_window
        self._replicas = config.stream_replicas
        self.request_timeout = config.request_timeout
        self._tasks = TaskSet()
        self._links: dict[str, _HostLink] = {}
        self._lives: dict[str, tuple[float, int]] = {}
        self._resyncing: set[str] = set()
        self.errors = NatsErrors("hub")
        self.connection = Connection(
            config, name="chatops-hub", inbox=None, errors=self.errors, on_connect=self._started
        )
        self._unsubscribe: list[Callable[[], None]] = []

    def spawn(self, coroutine: Any) -> None:
        self._tasks.spawn(coroutine, name="hub-request")

    def link_for(self, host: str) -> _HostLink:
        link = self._links.get(host)
        if link is None:
            link = self._links[host] = _HostLink(self, host)
        return link

    async def __aenter__(self) -> HubLink:
        self._hosts.link_for = self.link_for
        for known in self._hosts.hosts.values():
            known.caller.link = self.link_for(known.name)
        self._services.restarts.relay = self._hosts.restart_relay
        self._unsubscribe.append(self._services.bus.subscribe(ApprovalSettled, self._settled))
        self._unsubscribe.append(self._services.diagnostics.add_probe("nats", self._probe))
        self._tasks.spawn(self.connection.run(), name="hub-connect")
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        await self._tasks.cancel()
        await self.connection.close()

    async def _probe(self) -> Check:
        check = nats_check(self.connection, self._url)
        down = sorted(known.name for known in self._hosts.hosts.values() if known.down)
        up = len(self._hosts.hosts) - len(down)
        detail = f"{check.detail}; {plural(up, 'host')} up" + (
            f", down: {', '.join(down)}" if down else ""
        )
        return replace(check, status="warning" if down else check.status, detail=detail)

    async def _started(self, client: Client) -> None:
        js = client.jetstream()
        stream = StreamConfig(
            name=self._stream,
            subjects=[f"{self.prefix}.edge.*.events.>"],
            duplicate_window=self._window,
            num_replicas=self._replicas,
            # An event is kept until the hub has stored it and acknowledged, then dropped: the
            # stream is the edges' queue, not a second archive (each edge keeps its history).
            retention=RetentionPolicy.WORK_QUEUE,
        )
        try:
            await js.add_stream(stream)
        except BadRequestError:
            await js.update_stream(stream)
        await client.subscribe(f"{self.prefix}.edge.*.beat", cb=self._on_beat)
        consumer = await js.pull_subscribe(
            f"{self.prefix}.edge.*.events.>", durable="hub", stream=self._stream
        )
        self._tasks.spawn(self._consume(consumer), name="hub-consume")

    # -- beats -----------------------------------------------------------------------------------

    async def _on_beat(self, msg: Msg) -> None:
        host = host_of(msg.subject, self.prefix)
        if host is None:
            return
        try:
            beat = BEAT_DECODER.decode(msg.data)
            self._hosts.beat(host, beat.bots)
        except (msgspec.ValidationError, DomainError) as exc:
            log.warning("hub: a bad beat from %s: %s", host, exc)
            return
        life, seq = self._lives.get(host, (0.0, 0))
        self._lives[host] = (beat.started_at, beat.seq)
        lost = life != beat.started_at or beat.seq != seq + 1
        if (lost or self._hosts.needs_resync(host)) and host not in self._resyncing:
            self._resyncing.add(host)
            self._tasks.spawn(self._resync(host), name="hub-resync")

    async def _resync(self, host: str) -> None:
        try:
            data = await self.link_for(host).ask("", "resync", timeout=self.request_timeout)
            state = msgspec.convert(data, Resync)
            self._hosts.resync(host, state.bots)
            self._hosts.cache_listed(host, state.cache)
        except (LinkError, msgspec.ValidationError, DomainError) as exc:
            log.warning("hub: could not resync host %s: %s", host, exc)
        finally:
            self._resyncing.discard(host)

    # -- events ----------------------------------------------------------------------------------

    async def _consume(self, consumer: Any) -> None:
        while True:
            try:
                messages = await consumer.fetch(FETCH_BATCH, timeout=1)
            except NatsTimeout:
                continue
            except Exception as exc:  # disconnected: the consumer is durable, wait and go on
                log.debug("hub: fetch failed (%s)", exc)
                await self.connection.ready.wait()
                await asyncio.sleep(0.2)
                continue
            for message in messages:
                self._take(message)
            await self._services.health.written()
            for message in messages:
                with contextlib.suppress(Exception):
                    await message.ack()

    def _take(self, msg: Msg) -> None:
        host = host_of(msg.subject, self.prefix)
        if host is None:
            return
        msg_id = (msg.headers or {}).get("Nats-Msg-Id", "")
        try:
            self._hosts.heard(host)  # any word from a host is one
            self._apply(host, EVENT_DECODER.decode(msg.data), msg_id)
        except (msgspec.ValidationError, DomainError) as exc:
            log.warning("hub: an event from %s was refused: %s", host, exc)

    def _apply(self, host: str, event: Event, msg_id: str) -> None:
        services = self._services
        if isinstance(event, BotChanged):
            self._hosts.report(host, event.bot)
        elif isinstance(event, UsageReported):
            services.usage.log_usage(
                self._hosts.caller(host),
                qualified(host, event.name),
                event.model,
                feature=event.feature,
                tokens_in=event.tokens_in,
                tokens_out=event.tokens_out,
                latency_ms=event.latency_ms,
                estimated_cost=event.cost,
                key=f"{EDGE_KEY}{host}:{msg_id}" if msg_id else None,
                ts=event.ts,
            )
        elif isinstance(event, AgentChanged):
            status = event.status if event.status in AGENT_STATUSES else "error"
            services.agents.update_status(
                self._hosts.caller(host),
                qualified(host, event.name),
                status,  # type: ignore[arg-type]
                agent_type=event.agent_type,
                channel=qualified(host, event.channel) if event.channel else None,
                current_task=event.current_task,
                error_message=event.error_message,
            )
        elif isinstance(event, AgentTask):
            services.agents.task_result(
                self._hosts.caller(host),
                qualified(host, event.name),
                event.success,
                task=event.task,
                duration_ms=event.duration_ms,
                error_message=event.error_message,
                key=f"{EDGE_KEY}{host}:{msg_id}" if msg_id else None,
                ts=event.ts,
            )
        elif isinstance(event, CacheIndexed):
            self._hosts.cache_indexed(host, event.task_id, event.entry)
        elif isinstance(event, ApprovalAsked):
            ask = ApprovalAsk(
                agent=qualified(host, event.agent),
                action_type=event.action_type,
                data=event.data,
                timeout=event.timeout,
                key=f"{EDGE_KEY}{host}:{event.request_id}",
            )
            self._tasks.spawn(
                services.approvals.submit(self._hosts.caller(host), ask), name="hub-approval"
            )
        elif isinstance(event, ApprovalEnded):
            self._ended(host, event)

    def _ended(self, host: str, event: ApprovalEnded) -> None:
        key = f"{EDGE_KEY}{host}:{event.request_id}"
        approvals = self._services.approvals
        for record in approvals.pending():
            if record.key == key:
                why = f"ended on {host}: {event.state}" + (
                    f" ({event.reason})" if event.reason else ""
                )
                approvals.decide(
                    record.id, False, by=host, identity=f"host:{host}", via="edge", reason=why
                )

    def _settled(self, event: ApprovalSettled) -> None:
        """A request held for an edge has its answer: the edge's agent is told."""
        record = event.record
        key = record.key or ""
        if not key.startswith(EDGE_KEY) or record.via == "edge":
            return
        host, _, request_id = key[len(EDGE_KEY) :].rpartition(":")
        args = {
            "request_id": int(request_id),
            "state": record.state,
            "reason": record.decision_reason or "",
        }
        link = self.link_for(host)
        by = record.decided_by or record.via or "hub"
        self._tasks.spawn(self._answer(link, args, by), name="hub-approval-answer")

    async def _answer(self, link: _HostLink, args: dict[str, Any], by: str) -> None:
        for attempt in range(10):
            try:
                await link.ask("", "approval_answer", reason=by, args=args, timeout=5)
                return
            except Declined:
                return  # the edge's request ended meanwhile
            except LinkError:
                await asyncio.sleep(min(30, 2**attempt))
