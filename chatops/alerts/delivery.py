"""Alert delivery: a persistent outbox, one row per alert per sink, sent in groups.

An alert is written to ``alert_outbox`` before any attempt. Each sink has one worker: it takes
every due alert (up to ``GROUP_MAX``), stores the group's id on those rows and waits for that
commit, sends the group as one message, then marks it delivered and commits at once (it does not
wait for the next group commit). Grouping costs an isolated alert nothing: the first alert after
a quiet spell leaves as soon as it is committed (with whatever was committed with it). Only what
arrives while a send to that sink is in flight (which includes discord.py waiting for the
channel's bucket to refill) or while the sink's rate limit holds it is grouped, into the next
message, instead of queueing one message each. Within a burst, a message that is not full waits
until ``group_wait`` (0 by default), or the sink's own ``pace`` if longer (the Discord channel's:
one message a second, its rate limit's steady rate), after the previous one to that sink began,
for the rest of the burst (a timer on the injected clock).

A storm (more alerts due for a sink that takes storms than ``alerts.storm_threshold``: the
Discord channel) is one group of them all, up to ``STORM_MAX``, which the sink sends as one
summary (:mod:`chatops.alerts.storms`). Its rows are marked delivered together when the summary
is posted, like any group's, so no alert it counted is sent again one by one. While a storm lasts
the sink's next message waits until ``STORM_PACE`` after the latest summary began, gathering
what arrives meanwhile into one message (a summary again, if it is still a storm).

Exactly-once, as far as it can be had: a crash between a successful send and its commit resends
the *same* group (same rows, same group id) after the restart. The Discord channel sink sends
the group id as the message nonce with ``enforce_nonce``, so Discord returns the message it
already has; webhook receivers dedupe on each alert's ``alert_id`` (body and header).

Failures back off exponentially (capped, with jitter); a 429 waits exactly what the sink's
Retry-After says, and since nothing was delivered the group is dissolved and regrouped with
whatever arrived meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Collection

from chatops.alerts.render import GROUP_MAX
from chatops.alerts.sinks import DeliveryError, Sink, SinkKind
from chatops.alerts.storms import STORM_MAX
from chatops.config import AlertsConfig
from chatops.presentation.formatting import plural
from chatops.records.alerts import Alert, OutboxItem
from chatops.runtime.tasks import TaskSet
from chatops.runtime.timers import Timers
from chatops.store import Store
from chatops.timeutil import Clock, wall_clock

log = logging.getLogger(__name__)

NEVER = 1e18
STORM_PACE = 5.0
"""While a storm lasts, the least time between the starts of two messages to a sink that takes
storms: the Discord channel's rate-limit period (5 messages per 5 s). A storm that builds over
half a minute (bots going stale as their heartbeats fail to come) is then a summary every 5 s
of what arrived meanwhile, not one a second; 5 s after the latest, alerts leave at once again."""


def retry_delay(config: AlertsConfig, attempts: int) -> float:
    """How long to wait after ``attempts`` failed tries in a row: doubling from
    ``retry_initial`` up to ``retry_max``, with jitter (a random half of it up to all of it), so
    many senders that failed together do not all come back at once. Every alert delivery retries
    this way: the outbox's sinks and each Alertmanager instance."""
    backoff = min(config.retry_max, config.retry_initial * 2 ** (max(1, attempts) - 1))
    return random.uniform(backoff / 2, backoff)


class AlertDelivery:
    def __init__(
        self,
        store: Store,
        config: AlertsConfig,
        *,
        clock: Clock = wall_clock,
        timers: Timers | None = None,
    ) -> None:
        self._store = store
        self._tables = store.alerts
        self._config = config
        self._clock = clock
        self.sinks: dict[str, Sink] = {}
        self._pending: dict[int, OutboxItem] = {}
        self._next_id = 1
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._tasks = TaskSet()
        self._held_until: dict[str, float] = {}
        """A sink that failed waits as a whole: what arrives meanwhile joins its next group."""
        self.timers = timers if timers is not None else Timers(clock)
        self._began: dict[str, float] = {}
        """When the latest send to each sink began (``group_wait`` counts from it)."""
        self._storm_began: dict[str, float] = {}
        """When the latest storm summary to each sink began (``STORM_PACE`` counts from it)."""
        self._closed = False
        self.groups_sent = 0
        self.delivered: Counter[str] = Counter()
        """Alerts delivered since the start, by sink name (``/metrics``)."""
        self.failed: Counter[str] = Counter()
        """Failed attempts (one per message tried) since the start, by sink name."""

    def add_sink(self, sink: Sink) -> None:
        self.sinks[sink.name] = sink

    async def start(self) -> None:
        restored = await self._tables.pending_outbox()
        self._next_id = restored.next_id
        now = self._clock()
        for item in restored.rows:
            if item.next_attempt_at >= NEVER:
                continue
            # A restart is a natural moment to retry: don't sit out an old backoff.
            item.next_attempt_at = min(item.next_attempt_at, now)
            self._pending[item.id] = item
        if self._pending:
            log.info("%d alert deliveries pending from before the restart", len(self._pending))
            self.kick()

    @property
    def pending(self) -> list[OutboxItem]:
        return sorted(self._pending.values(), key=lambda item: item.id)

    def enqueue(self, alert: Alert, to: Collection[SinkKind] | None = None) -> None:
        """Persist one delivery per sink (``to``: per sink of those kinds only); the attempt
        starts once that is committed."""
        now = self._clock()
        for name, sink in self.sinks.items():
            if to is not None and sink.kind not in to:
                continue
            item = OutboxItem(
                id=self._next_id, created_at=now, sink=name, alert=alert, next_attempt_at=now
            )
            self._next_id += 1
            self._pending[item.id] = item
            self._tables.save_outbox(item)
        self._store.db.after_commit(lambda error: self.kick() if error is None else None)

    def kick(self) -> None:
        """Start a worker for every sink that has due alerts and none running (none once
        closed: a commit that lands later must not send while the store is closing)."""
        if self._closed:
            return
        now = self._clock()
        due_sinks = {item.sink for item in self._pending.values() if item.next_attempt_at <= now}
        for name in due_sinks:
            if self._held_until.get(name, 0.0) > now:
                continue
            worker = self._workers.get(name)
            if worker is None or worker.done():
                self._workers[name] = self._tasks.spawn(self._work(name), name=f"alerts:{name}")

    async def settled(self) -> None:
        """Wait until no sink's worker runs: each has sent what it could, or found its sink
        not ready (a Discord channel before the login) and stopped without spending a try."""
        while running := [worker for worker in self._workers.values() if not worker.done()]:
            await asyncio.wait(running)

    async def run_due(self) -> None:
        """The scheduler's job: retry whatever is due."""
        self.kick()

    async def close(self) -> None:
        self._closed = True
        for name in self.sinks:
            self.timers.cancel(("alert_group", name))
            self.timers.cancel(("alert_retry", name))
        await self._tasks.cancel()

    # -- one worker per sink ---------------------------------------------------------------------

    async def _work(self, name: str) -> None:
        sink = self.sinks.get(name)
        if sink is None:
            for item in [i for i in self._pending.values() if i.sink == name]:
                item.last_error = "sink no longer configured"
                item.next_attempt_at = NEVER
                self._finish(item)
            return
        if not sink.ready:
            return  # kicked again when it is (Discord login), nothing spent meanwhile
        while True:
            group = self._next_group(name)
            if group and await self._paused(sink, group):
                group = self._next_group(name)  # with the rest of the burst
            if not group:
                return
            self._began[name] = self._clock()
            if len(group) > GROUP_MAX:  # a storm: what follows it soon joins the next summary
                self._storm_began[name] = self._began[name]
                log.warning(
                    "alert storm: %s to %s in one summary", plural(len(group), "alert"), name
                )
            if not await self._send(sink, group):
                return

    async def _paused(self, sink: Sink, group: list[OutboxItem]) -> bool:
        """Wait until ``group_wait`` (or the sink's own pace, if longer) after the previous send
        to ``sink`` began, if this group is new and not full, and while a storm lasts until
        ``STORM_PACE`` after its latest summary began, full or not; False when it need not wait
        (an alert after a quiet spell never does)."""
        name = sink.name
        if group[0].group_id is not None:
            return False  # begun before: resent as it was, at once
        wait = max(self._config.group_wait, sink.pace)
        until = -NEVER
        if wait > 0 and len(group) < GROUP_MAX:
            until = self._began.get(name, -NEVER) + wait
        until = max(until, self._storm_began.get(name, -NEVER) + STORM_PACE)
        if until <= self._clock():
            return False
        woken = asyncio.Event()
        self.timers.schedule(("alert_group", name), until, woken.set)
        await woken.wait()
        return True

    def _next_group(self, name: str) -> list[OutboxItem]:
        now = self._clock()
        due = [i for i in self.pending if i.sink == name and i.next_attempt_at <= now]
        if not due:
            return []
        # A group started before (a crash, an unclear failure) is resent as it was.
        started = next((item.group_id for item in due if item.group_id is not None), None)
        if started is not None:
            return [item for item in self.pending if item.group_id == started]
        sink = self.sinks.get(name)
        if sink is not None and sink.storms and len(due) > self._config.storm_threshold:
            return due[:STORM_MAX]
        return due[:GROUP_MAX]

    async def _send(self, sink: Sink, group: list[OutboxItem]) -> bool:
        group_id = group[0].group_id
        if group_id is None:
            group_id = group[0].alert.alert_id
            for item in group:
                item.group_id = group_id
                self._tables.save_outbox(item)
            self._store.writer.hurry()
            await self._store.flush()  # the group exists on disk before anything is sent
        for item in group:
            item.attempts += 1
        try:
            await sink.send([item.alert for item in group], group_id)
        except DeliveryError as exc:
            self._failed(sink, group, exc)
            return False
        except Exception:
            log.exception("alert sink %s crashed", sink.name)
            self._failed(sink, group, DeliveryError("sink crashed"))
            return False
        now = self._clock()
        for item in group:
            item.delivered_at = now
            self._finish(item)
        self._store.writer.hurry()  # commit the outcome now: a crash must not resend it
        self.groups_sent += 1
        self.delivered[sink.name] += len(group)
        return True

    def _failed(self, sink: Sink, group: list[OutboxItem], exc: DeliveryError) -> None:
        self.failed[sink.name] += 1
        attempts = max(item.attempts for item in group)
        if exc.permanent:
            log.error("alerts to %s failed for good: %s", sink.name, exc)
            for item in group:
                item.last_error = str(exc)[:500]
                item.next_attempt_at = NEVER
                self._finish(item)
            return
        if exc.retry_after is not None:
            delay = exc.retry_after
        else:
            delay = retry_delay(self._config, attempts)
        retry_at = self._clock() + delay
        self._held_until[sink.name] = retry_at
        for item in group:
            item.last_error = str(exc)[:500]
            item.next_attempt_at = retry_at
            if exc.retry_after is not None:
                item.group_id = None  # refused outright: regroup with what arrives meanwhile
            self._tables.save_outbox(item)
        log.warning(
            "%s to %s failed (attempt %d, retry in %.1fs): %s",
            plural(len(group), "alert"),
            sink.name,
            attempts,
            delay,
            exc,
        )
        self._retry_later(sink.name, retry_at)

    def _retry_later(self, name: str, retry_at: float) -> None:
        """Kick the sink's worker when its wait is over (one timer per sink: the latest)."""
        self.timers.schedule(("alert_retry", name), retry_at, self.kick)

    def _finish(self, item: OutboxItem) -> None:
        self._pending.pop(item.id, None)
        self._tables.save_outbox(item)
