"""``chatops edge``'s door to its hub: what happens on this host, told over NATS; what the hub
asks, done here.

* The bots that changed since the last beat go in one core-NATS message per
  ``heartbeat_interval`` (at least every 5 s): a bot whose status or process changed, and each
  bot's RSS and CPU once per ``metrics_interval``. A heartbeat alone is not news (the edge
  judges silence), so a host's steady fleet costs the hub one small message per interval.
* What must not be lost (a registration, a transition, LLM usage, agents' reports, cache index
  changes, an approval request) is queued
  in the edge's outbox (:class:`~chatops.services.outbox.EdgeOutbox`, kept in its database) and
  published through JetStream with its id as ``Nats-Msg-Id``, oldest first, until stored.
* The hub's commands (``restart``, ``approval_answer``, ``cache_plan``, ``cache_execute``,
  ``resync``, ``tell`` and ``ask``: a push to one of its bots, as a status reset sends)
  arrive as NATS requests; each is answered with the service's outcome or its error, as the
  socket would answer it.

Everything else stays here: the socket, SO_PEERCRED ownership, pid watching, restarts by signal
and the cache folders. Through a partition the edge goes on supervising and queues what it owes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import asdict
from types import TracebackType
from typing import Any

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg

from chatops.api.cache_views import plan_to_dict, result_to_dict
from chatops.composition.implied import beat_interval
from chatops.composition.services import Services
from chatops.config import Settings
from chatops.nats.connect import Connection, NatsErrors, nats_check
from chatops.nats.messages import (
    COMMAND_DECODER,
    ENCODER,
    AgentChanged,
    AgentTask,
    Answer,
    ApprovalAsked,
    ApprovalEnded,
    Beat,
    BotChanged,
    CacheIndexed,
    Command,
    Event,
    Resync,
    Subjects,
    UsageReported,
    event_kind,
)
from chatops.records.cache import CacheEntry
from chatops.records.fleet import AgentState, BotState, FleetEvent
from chatops.records.hosts import BotReport, RemoteCacheEntry
from chatops.runtime.tasks import TaskSet
from chatops.services.agents import TaskReported
from chatops.services.approvals.events import ApprovalRequested, ApprovalSettled
from chatops.services.callers import LinkError
from chatops.services.errors import DomainError
from chatops.services.recovery.probes import Check
from chatops.services.usage import UsageLogged

log = logging.getLogger(__name__)

PUBLISH_WINDOW = 64
"""Events in flight to JetStream at once (in order on the one connection)."""
FORWARDED_KINDS = frozenset({"registered", "status_changed"})


def remote(entry: CacheEntry) -> RemoteCacheEntry:
    return RemoteCacheEntry(
        task_id=entry.task_id,
        agent_type=entry.agent_type,
        size=entry.size,
        files=entry.files,
        created_at=entry.created_at,
        agent=entry.agent,
        finished_at=entry.finished_at,
    )


def report_of(bot: BotState, reason: str = "") -> BotReport:
    return BotReport(
        name=bot.channel,
        pid=bot.pid,
        status=str(bot.status),
        changed_at=bot.status_changed_at,
        last_heartbeat=bot.last_heartbeat,
        registered_at=bot.registered_at,
        rss_mb=bot.rss_mb,
        cpu_pct=bot.cpu_pct,
        uid=bot.uid,
        features=dict(bot.features),
        reason=reason,
    )


class EdgeLink:
    """Started after the socket (an async context manager on the controller's stack)."""

    def __init__(self, services: Services, settings: Settings) -> None:
        self._services = services
        self.host = settings.edge.name
        self._url = settings.nats.url
        self._subjects = Subjects(settings.nats.subject_prefix, self.host)
        self._interval = beat_interval(settings)
        self._metrics_every = settings.monitoring.metrics_interval
        self._dirty: set[str] = set()
        self._sent: dict[str, tuple[float, int, float]] = {}
        """A bot -> (status_changed_at, pid, when) of the last report sent of it."""
        self._tasks = TaskSet()
        self._seq = 0
        self._started_at = services.clock()
        self.errors = NatsErrors(f"edge {self.host}")
        self.connection = Connection(
            settings.nats,
            name=f"chatops-edge-{self.host}",
            inbox=self._subjects.inbox,
            errors=self.errors,
            on_connect=self._subscribe,
        )
        self._unsubscribe: list[Callable[[], None]] = []
        self.published = 0
        """Events JetStream has acknowledged (a figure for tests and benches)."""

    async def __aenter__(self) -> EdgeLink:
        services = self._services
        services.fleet.on_change.append(self._changed)
        services.fleet.on_remove.append(self._removed)
        bus = services.bus
        self._unsubscribe = [
            bus.subscribe(FleetEvent, self._on_fleet_event),
            bus.subscribe(UsageLogged, self._on_usage),
            bus.subscribe(ApprovalRequested, self._on_approval),
            bus.subscribe(ApprovalSettled, self._on_settled),
        ]
        services.agents.on_change.append(self._on_agent)
        services.cache.on_index.append(self._on_cache)
        services.agents.on_task.append(self._on_task)
        self._dirty.update(services.fleet.bots)
        self._unsubscribe.append(services.diagnostics.add_probe("nats", self._probe))
        self._tasks.spawn(self.connection.run(), name="edge-connect")
        self._tasks.spawn(self._beat_forever(), name="edge-beat")
        self._tasks.spawn(self._forward_forever(), name="edge-forward")
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        services = self._services
        for listeners, listener in (
            (services.fleet.on_change, self._changed),
            (services.fleet.on_remove, self._removed),
            (services.agents.on_change, self._on_agent),
            (services.agents.on_task, self._on_task),
            (services.cache.on_index, self._on_cache),
        ):
            with contextlib.suppress(ValueError):
                listeners.remove(listener)  # type: ignore[arg-type]
        await self._tasks.cancel()
        await self.connection.close()

    async def _probe(self) -> Check:
        return nats_check(self.connection, self._url, len(self._services.outbox))

    # -- what happens here -----------------------------------------------------------------------

    def _changed(self, bot: BotState) -> None:
        self._dirty.add(bot.channel)

    def _removed(self, channel: str) -> None:
        """A bot that left this host's fleet (a cleanup): nothing more to send of it."""
        self._dirty.discard(channel)
        self._sent.pop(channel, None)

    def _queue(self, event: Event) -> None:
        subject = self._subjects.event(event_kind(event))
        self._services.outbox.put(subject, ENCODER.encode(event))

    def _on_fleet_event(self, event: FleetEvent) -> None:
        bot = self._services.fleet.bots.get(event.channel)
        if event.kind in FORWARDED_KINDS and bot is not None:
            self._queue(BotChanged(bot=report_of(bot, event.detail or "")))

    def _on_usage(self, event: UsageLogged) -> None:
        self._queue(
            UsageReported(
                name=event.channel,
                model=event.model,
                ts=event.ts,
                feature=event.feature,
                tokens_in=event.tokens_in,
                tokens_out=event.tokens_out,
                latency_ms=event.latency_ms,
                cost=event.cost,
            )
        )

    def _on_agent(self, agent: AgentState) -> None:
        self._queue(
            AgentChanged(
                name=agent.name,
                status=agent.status,
                agent_type=agent.agent_type,
                channel=agent.channel,
                current_task=agent.current_task,
                error_message=agent.error_message,
            )
        )

    def _on_task(self, task: TaskReported) -> None:
        self._queue(
            AgentTask(
                name=task.agent,
                success=task.success,
                ts=task.ts,
                task=task.task,
                duration_ms=task.duration_ms,
                error_message=task.error_message,
            )
        )

    def _on_cache(self, task_id: str, entry: CacheEntry | None) -> None:
        self._queue(CacheIndexed(task_id=task_id, entry=None if entry is None else remote(entry)))

    def _on_approval(self, event: ApprovalRequested) -> None:
        record = event.record
        timeout = (record.expires_at or record.requested_at) - self._services.clock()
        self._queue(
            ApprovalAsked(
                request_id=record.id,
                agent=record.agent,
                action_type=record.action_type,
                data=event.data,
                timeout=max(1.0, timeout),
            )
        )

    def _on_settled(self, event: ApprovalSettled) -> None:
        record = event.record
        if event.asked and record.via != "hub":  # the hub asked its approvers: tell it
            reason = record.decision_reason or ""
            self._queue(ApprovalEnded(request_id=record.id, state=record.state, reason=reason))

    # -- to the hub ------------------------------------------------------------------------------

    async def _beat_forever(self) -> None:
        await self.connection.ready.wait()  # the first beat as soon as the hub can hear it
        while True:
            client = self.connection.client
            if client is None or not self.connection.connected:
                await asyncio.sleep(self._interval)
                continue  # what changed stays marked for the next beat
            self._seq += 1
            bots = self._news()
            beat = Beat(host=self.host, seq=self._seq, started_at=self._started_at, bots=bots)
            with contextlib.suppress(Exception):
                await client.publish(self._subjects.beat, ENCODER.encode(beat))
            await asyncio.sleep(self._interval)

    def _news(self) -> list[BotReport]:
        """The changed bots worth a line in this beat; the rest stay marked for a later one."""
        fleet, now = self._services.fleet, self._services.clock()
        news = []
        for name in list(self._dirty):
            bot = fleet.bots.get(name)
            if bot is None:
                self._removed(name)
                continue
            changed, pid, sent_at = self._sent.get(name, (-1.0, -1, -1e18))
            moved = (changed, pid) != (bot.status_changed_at, bot.pid)
            if moved or now - sent_at >= self._metrics_every:
                self._sent[name] = (bot.status_changed_at, bot.pid, now)
                self._dirty.discard(name)
                news.append(report_of(bot))
        return news

    async def _forward_forever(self) -> None:
        outbox = self._services.outbox
        failures = 0
        while True:
            batch = await outbox.next_batch(PUBLISH_WINDOW)
            await self.connection.ready.wait()
            client = self.connection.client
            assert client is not None
            js = client.jetstream()
            results = await asyncio.gather(
                *(
                    js.publish(e.subject, e.payload, timeout=5, headers={"Nats-Msg-Id": e.msg_id})
                    for e in batch
                ),
                return_exceptions=True,
            )
            stored = 0
            for result in results:
                if isinstance(result, BaseException):
                    break
                stored += 1
            if stored:
                outbox.sent(batch[stored - 1].seq)
                self.published += stored
            if stored < len(batch):
                failures += 1
                if failures % 30 == 1:
                    log.warning(
                        "edge %s: JetStream did not store an event (%s); %d waiting, trying again",
                        self.host,
                        results[stored],
                        len(outbox),
                    )
                await asyncio.sleep(1)
            else:
                failures = 0

    # -- from the hub ----------------------------------------------------------------------------

    async def _subscribe(self, client: Client) -> None:
        await client.subscribe(self._subjects.commands, cb=self._on_command)

    async def _on_command(self, msg: Msg) -> None:
        self._tasks.spawn(self._answer(msg), name="edge-command")

    async def _answer(self, msg: Msg) -> None:
        action = msg.subject.rsplit(".", 1)[-1]
        try:
            command = COMMAND_DECODER.decode(msg.data)
            answer = Answer(data=await self._do(action, command))
        except msgspec.ValidationError as exc:
            answer = Answer(error="invalid_message", message=str(exc))
        except (DomainError, LinkError, KeyError, ValueError) as exc:
            answer = Answer(error=type(exc).__name__, message=str(exc))
        if msg.reply:
            with contextlib.suppress(Exception):
                await msg.respond(ENCODER.encode(answer))

    async def _do(self, action: str, command: Command) -> dict[str, Any]:
        services = self._services
        bot = command.bot or ""
        if action == "restart":
            report = await services.restarts.restart(bot, by=command.by or "the hub")
            return asdict(report)
        if action == "approval_answer":
            args = command.args
            services.approvals.conclude(
                int(args["request_id"]),
                str(args["state"]),
                via="hub",
                by=command.by,
                reason=str(args.get("reason") or ""),
            )
            return {}
        if action == "resync":
            bots = [report_of(state) for state in services.fleet.bots.values()]
            cache = [remote(entry) for entry in services.cache.entries.values()]
            resync: dict[str, Any] = msgspec.to_builtins(Resync(bots=bots, cache=cache))
            return resync
        if action == "cache_plan":
            args = command.args
            plan = services.cache_writes.plan(
                str(args["kind"]),
                args.get("task_id"),
                args.get("max_age_days"),
                bool(args["force"]),
            )
            return plan_to_dict(plan)
        if action == "cache_execute":
            args = command.args
            planned = [(str(task_id), int(inode)) for task_id, inode in args["items"]]
            shown = services.cache.plan_shown(str(args["kind"]), planned)
            result = await services.cache.execute(shown, force=bool(args["force"]))
            return result_to_dict(result, services.cache.total)
        if action == "tell":
            link = services.ownership.link_for(bot)
            link.tell(bot, str(command.args["action"]), command.reason)
            return {}
        if action == "ask":
            link = services.ownership.link_for(bot)
            timeout = float(command.args.get("timeout", 10))
            action_args = command.args.get("args")
            return await link.ask(
                bot,
                str(command.args["action"]),
                reason=command.reason,
                args=action_args if isinstance(action_args, dict) else None,
                timeout=timeout,
            )
        raise ValueError(f"no command {action!r}")
