"""The approval round trip: an agent asks, the policy answers at once or a human decides, and
the answer goes back to the waiting agent.

A request the policy sends to a human becomes a *pending* record: stored, announced on the bus
(:class:`ApprovalRequested`, which the Discord cog turns into a prompt with buttons and the
approval alerts into the webhooks' announcement), and awaited by the agent's request (the door
waits in its own task: the connection and the loop never wait). Whoever decides first wins; with
``approvals_required`` > 1, distinct approvers count up to it and any deny ends it. A
decision, a timeout or the agent's disconnection resolves the record, publishes
:class:`ApprovalUpdated` (the prompt is edited) and answers every waiter. Each deadline is a
timer on the injected clock (see :mod:`.deadlines`).

At shutdown a pending request stays pending: the agent is answered ``shutting_down`` and asks
again with its key once the controller is back, which re-attaches it (a decision made meanwhile
is answered at once). A request nobody re-attaches within ``reattach_grace`` is denied.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from chatops.config.approvals import ActionType, ApprovalsConfig, SocketDecisions
from chatops.presentation.formatting import plural
from chatops.records.approvals import ApprovalAsk, ApprovalRecord
from chatops.runtime.bus import EventBus
from chatops.runtime.processes import ProcessIds, process_ids
from chatops.runtime.timers import Timers
from chatops.services.approvals.asks import new_record
from chatops.services.approvals.controls import RuleControls
from chatops.services.approvals.deadlines import ApprovalDeadlines
from chatops.services.approvals.diffs import action_diff
from chatops.services.approvals.edits import Editing
from chatops.services.approvals.events import (
    NOBODY_TOLD,
    UNATTENDED,
    ApprovalError,
    ApprovalRequested,
    ApprovalSettled,
    ApprovalUpdated,
    NoSuchApproval,
    outcome_text,
)
from chatops.services.approvals.granting import Granting
from chatops.services.approvals.grants import GrantBook
from chatops.services.approvals.limits import answer_timeout, pending_limit
from chatops.services.approvals.policy import Decision
from chatops.services.approvals.worker import ShellAnalyser
from chatops.services.callers import Caller
from chatops.services.errors import Refused
from chatops.services.fleet import FleetService
from chatops.services.operators import OperatorGate, operator_name
from chatops.store import Store
from chatops.timeutil import Clock, wall_clock

log = logging.getLogger(__name__)

ANSWER_SLACK = 15.0
"""A waiting request's own deadline is its expiry plus this: the timeout decides first."""


class ApprovalService:
    def __init__(
        self,
        store: Store,
        config: ApprovalsConfig,
        fleet: FleetService,
        bus: EventBus,
        gate: OperatorGate,
        *,
        attended: bool = True,
        clock: Clock = wall_clock,
        timers: Timers | None = None,
    ) -> None:
        self._gate = gate
        self._attended = attended
        self._tables = store.approvals
        self.controls = RuleControls(config, self._tables, clock, gate)
        self.config = self.controls.config
        self.policy = self.controls.policy
        self._fleet = fleet
        self._bus = bus
        self._clock = clock
        self.timers = timers if timers is not None else Timers(clock)
        self._deadlines = ApprovalDeadlines(self.timers, self.config, self._due)
        self._analyser = ShellAnalyser(in_worker=config.parse_in_worker)
        self.grants = GrantBook(self._tables, clock=clock, timers=self.timers)
        self.granting = Granting(self.config, self.grants, gate, self)
        """The grants' rules: offered when, with which approval, revoked by whom."""
        self.editing = Editing(self)
        """Approving with an edit: re-judged by the policy, answered to the agent."""
        self.records: dict[int, ApprovalRecord] = {}
        """Pending requests, and resolved ones still wanted: a prompt to close, or an agent
        that may ask again with the key."""
        self._by_key: dict[tuple[str, str], int] = {}
        self._waiters: dict[int, list[asyncio.Future[ApprovalRecord]]] = {}
        self._askers: dict[int, Caller] = {}
        self._asked_from: dict[int, list[ProcessIds]] = {}
        """Where each process that waits on a request stood when it asked (pid, session,
        process group): a decision over the socket must come from elsewhere."""
        self._next_id = 1
        self._stopping = False

    async def start(self) -> None:
        self.controls.apply_settings(await self._tables.settings())
        await self.grants.start()
        restored = await self._tables.open_requests()
        self._next_id = restored.next_id
        now = self._clock()
        for record in restored.rows:
            self._keep(record)
            if record.pending:
                self._deadlines.reattach_by[record.id] = now + self.config.reattach_grace
        if self._deadlines.reattach_by:
            log.info("%s from before the restart", plural(len(restored.rows), "open request"))
        for record in restored.rows:
            self._due(record.id)  # what came due while the controller was down, at once

    def shutdown(self) -> None:
        """Before connections close: what is pending stays pending for the next start."""
        self._stopping = True
        self._analyser.close()

    # -- the agent's side ------------------------------------------------------------------------

    def admit(self, caller: Caller, ask: ApprovalAsk) -> float:
        """Check ``ask`` may be made (a bot's name is its owner's, so nobody asks in its name)
        and say how long its answer may take: the waiting door's deadline."""
        self._fleet.ownership.authorize(caller, ask.agent)
        return answer_timeout(self.config, ask) + self.config.reattach_grace + ANSWER_SLACK

    async def submit(self, caller: Caller, ask: ApprovalAsk) -> ApprovalRecord:
        """The request's outcome, once the policy, a grant or a human has decided."""
        self._gate.spoke_as_agent(caller)
        if ask.key is not None:
            known = self.records.get(self._by_key.get((ask.agent, ask.key), 0))
            if known is not None:
                return await self._wait(caller, known) if known.pending else known
        decision = await self.evaluate(ask.action_type, ask.data)
        record = new_record(self._next_id, ask, decision, self.config, self._clock())
        self._next_id += 1
        grant = (
            self.grants.find(ask.agent, ask.action_type) if decision.decision == "confirm" else None
        )
        if decision.decision != "confirm":
            self._settle(
                record, "accepted" if decision.decision == "accept" else "denied", "policy"
            )
        elif grant is not None:
            by = f"grant #{grant.id} by {grant.created_by}"
            self._settle(record, "approved", "grant", by=by, reason="allowed for this agent")
        elif not ask.wait:
            self._settle(record, "checked", "policy")
        elif (full := pending_limit(self.config, self.records.values(), ask.agent)) is not None:
            self._settle(record, "denied", "limit", reason=full)
        elif not self._attended and self.config.unattended == "answer":
            self._settle(record, "denied", UNATTENDED, reason=f"{decision.reason}; {NOBODY_TOLD}")
        else:
            return await self._open(caller, record, ask.data)
        self._tables.save(record)
        return record

    async def evaluate(self, action_type: str, data: dict[str, Any]) -> Decision:
        """The policy's decision, the command parsed in the worker process."""
        command = data.get("command")
        analysis = None
        if ActionType.named(action_type) is ActionType.TERMINAL_COMMAND and isinstance(
            command, str
        ):
            analysis = await self._analyser.analyse(command) if command.strip() else None
        return self.policy.decide(action_type, data, analysis)

    def should_accept_action(self, action_type: str, action_data: dict[str, Any]) -> dict[str, Any]:
        """The policy's answer alone, no prompt, in process (the command parsed here): ``accept``,
        ``requires_confirmation``, ``reason`` (plus ``decision`` and ``rule``)."""
        return self.policy.decide(action_type, action_data).seed_dict()

    async def _open(
        self, caller: Caller, record: ApprovalRecord, data: dict[str, Any]
    ) -> ApprovalRecord:
        root = self.config.workspace_root  # the diff reads a file: off the loop
        record.diff = await asyncio.to_thread(action_diff, data, root, reader_uid=caller.uid)
        self._keep(record)
        self._deadlines.arm(record)
        self._tables.save(record)
        self._bus.publish(ApprovalRequested(record, data))  # the prompt, and the webhooks' alert
        return await self._wait(caller, record)

    async def _wait(self, caller: Caller, record: ApprovalRecord) -> ApprovalRecord:
        future: asyncio.Future[ApprovalRecord] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(record.id, []).append(future)
        self._askers[record.id] = caller
        asker = process_ids(caller.pid) if caller.pid is not None else None
        if asker is not None and asker not in self._asked_from.setdefault(record.id, []):
            self._asked_from[record.id].append(asker)
        self._deadlines.reattach_by.pop(record.id, None)
        try:
            return await future
        finally:
            waiting = self._waiters.get(record.id, [])
            if future in waiting:
                waiting.remove(future)

    def connection_lost(self, caller: Caller) -> None:
        """The agent went away: its pending requests are cancelled (not at shutdown)."""
        if self._stopping:
            return
        for request_id, asker in list(self._askers.items()):
            record = self.records.get(request_id)
            if asker is caller and record is not None and record.pending:
                self._resolve(record, "cancelled", "disconnect", reason="the agent disconnected")

    # -- the approver's side ---------------------------------------------------------------------

    def decide(
        self,
        request_id: int,
        approve: bool,
        *,
        by: str,
        identity: str,
        via: str,
        reason: str | None = None,
    ) -> ApprovalRecord:
        """One approver's answer. ``identity`` tells approvers apart (a Discord user id, a
        uid); the first deny, or the ``approvals_required``-th distinct approval, decides."""
        record = self.records.get(request_id)
        if record is None:
            raise NoSuchApproval(f"no open approval request #{request_id}")
        if not record.pending:
            raise ApprovalError(f"request #{request_id} was already {outcome_text(record)}")
        if not approve:
            self._resolve(record, "denied", via, by=by, reason=reason or f"denied by {by}")
            return record
        if identity in record.approvers:
            raise ApprovalError(f"you approved #{request_id} already; another approver must")
        record.approvers.append(identity)
        if len(record.approvers) >= record.approvals_required:
            self._resolve(record, "approved", via, by=by, reason=reason or f"approved by {by}")
        else:
            self._tables.save(record)
            self._bus.publish(ApprovalUpdated(record))
        return record

    def decide_as_operator(
        self, caller: Caller, request_id: int, approve: bool, reason: str | None = None
    ) -> ApprovalRecord:
        """``chatops approvals approve|deny``, through the operator's narrow door
        (:class:`~chatops.services.operators.OperatorGate`): never from where the asking agent
        stands, and from a terminal unless ``socket_decisions`` is ``any``."""
        self.operator_may_decide(caller, request_id)
        return self.decide(
            request_id,
            approve,
            by=operator_name(caller),
            identity=f"uid:{caller.uid}",
            via="cli",
            reason=reason,
        )

    def operator_may_decide(self, caller: Caller, request_id: int) -> None:
        """Raise :class:`Refused` unless ``caller`` may decide ``request_id`` from a shell."""
        mode = self.config.socket_decisions
        if mode is SocketDecisions.OFF:
            raise Refused("approvals.socket_decisions is off: decide in Discord")
        self._gate.require(caller)
        record = self.records.get(request_id)
        if record is not None and record.pending:  # else decide() says why not
            askers = self._asked_from.get(record.id, [])
            terminal = mode is SocketDecisions.INTERACTIVE
            self._gate.require_apart(caller, askers, terminal=terminal)

    def conclude(self, request_id: int, state: str, *, via: str, by: str, reason: str) -> None:
        """The outcome decided elsewhere (an edge's request, answered by its hub's approvers)."""
        record = self.records.get(request_id)
        if record is None or not record.pending:
            raise NoSuchApproval(f"no open approval request #{request_id}")
        self._resolve(record, state, via, by=by, reason=reason)

    def pending(self) -> list[ApprovalRecord]:
        return [r for r in self.records.values() if r.pending]

    def prompt_posted(self, request_id: int, channel_id: int, message_id: int) -> None:
        record = self.records.get(request_id)
        if record is not None:
            record.message_channel_id, record.message_id = channel_id, message_id
            record.message_closed = False  # edited once resolved (at once if it already is)
            self._tables.save(record)

    def prompt_closed(self, request_id: int) -> None:
        """The prompt shows the outcome: nothing is left to edit after a restart."""
        record = self.records.get(request_id)
        if record is not None and not record.pending:
            record.message_closed = True
            self._tables.save(record)
            self._deadlines.arm(record)

    def prompts_to_close(self) -> list[ApprovalRecord]:
        return [
            r
            for r in self.records.values()
            if not r.pending and r.message_id is not None and not r.message_closed
        ]

    # -- internals -------------------------------------------------------------------------------

    def _due(self, request_id: int) -> None:
        """A record's timer fired: expire it, deny it if nobody re-attached it, or forget it;
        else (a deadline moved) arm it again."""
        record = self.records.get(request_id)
        if record is None:
            return
        now = self._clock()
        if record.pending and record.expires_at is not None and now >= record.expires_at:
            waited = record.expires_at - record.requested_at
            self._resolve(record, "expired", "timeout", reason=f"no decision within {waited:.0f}s")
        elif record.pending and self._deadlines.reattach_by.get(record.id, now + 1) <= now:
            reason = "the controller restarted and the agent did not ask again"
            self._resolve(record, "denied", "restart", reason=reason)
        elif self._done_with(record, now):
            self._forget(record)
        else:
            self._deadlines.arm(record)

    def _settle(
        self,
        record: ApprovalRecord,
        state: str,
        via: str,
        *,
        by: str | None = None,
        reason: str | None = None,
        asked: bool = False,
    ) -> None:
        now = self._clock()
        record.state, record.via, record.decided_by = state, via, by
        record.decision_reason = reason
        record.decided_at = now
        record.wait_ms = round((now - record.requested_at) * 1000)
        record.message_closed = record.message_id is None
        self._bus.publish(ApprovalSettled(record, asked))

    def _resolve(
        self,
        record: ApprovalRecord,
        state: str,
        via: str,
        *,
        by: str | None = None,
        reason: str | None = None,
    ) -> None:
        self._settle(record, state, via, by=by, reason=reason, asked=True)
        self._tables.save(record)
        self._askers.pop(record.id, None)
        self._deadlines.reattach_by.pop(record.id, None)
        log.info("approval #%d %s via %s: %s", record.id, state, via, record.decision_reason)
        for future in self._waiters.pop(record.id, []):
            if not future.done():
                future.set_result(record)
        self._deadlines.arm(record)  # its expiry is over: what is left is forgetting it
        self._bus.publish(ApprovalUpdated(record))

    def _done_with(self, record: ApprovalRecord, now: float) -> bool:
        """Resolved, its prompt closed, and past the time its agent might ask again."""
        if record.pending or not record.message_closed or self._waiters.get(record.id):
            return False
        return now - (record.decided_at or now) >= self.config.reattach_grace

    def _keep(self, record: ApprovalRecord) -> None:
        self.records[record.id] = record
        if record.key is not None:
            self._by_key[(record.agent, record.key)] = record.id

    def _forget(self, record: ApprovalRecord) -> None:
        self.records.pop(record.id, None)
        self._asked_from.pop(record.id, None)
        if record.key is not None:
            self._by_key.pop((record.agent, record.key), None)
