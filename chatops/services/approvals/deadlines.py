"""The approval service's deadlines as timers, kept beside it: a mixin of ``ApprovalService``,
which owns the state these read.

Each kept record has one timer on the injected clock, keyed ``("approval", id)``
(:mod:`chatops.runtime.timers`). While the record is pending it is set at its expiry (or at
the end of its re-attach grace after a restart, if that is sooner); when it is decided, that
timer is replaced by the one that forgets the record, ``reattach_grace`` after the decision and
once its prompt is closed (:meth:`ApprovalService.prompt_closed` arms it then). A grant's end is
a timer of its own (``("grant", id)``, see :mod:`.grants`). Nothing polls.
"""

from __future__ import annotations

from chatops.runtime.timers import Timers
from chatops.services.approvals.config import ApprovalsConfig
from chatops.store import ApprovalRecord
from chatops.timeutil import Clock


class RecordDeadlines:
    config: ApprovalsConfig
    records: dict[int, ApprovalRecord]
    timers: Timers
    _clock: Clock
    _reattach_by: dict[int, float]

    # The service's own:
    def _resolve(
        self,
        record: ApprovalRecord,
        state: str,
        via: str,
        *,
        by: str | None = None,
        reason: str | None = None,
    ) -> None:
        raise NotImplementedError

    def _done_with(self, record: ApprovalRecord, now: float) -> bool:
        raise NotImplementedError

    def _forget(self, record: ApprovalRecord) -> None:
        raise NotImplementedError

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
        elif record.pending and self._reattach_by.get(record.id, now + 1) <= now:
            reason = "the controller restarted and the agent did not ask again"
            self._resolve(record, "denied", "restart", reason=reason)
        elif self._done_with(record, now):
            self._forget(record)
        else:
            self._arm(record)

    def _arm(self, record: ApprovalRecord) -> None:
        """Set the record's one timer for what comes next to it (replacing the one it had):
        its expiry or re-attach deadline while pending, the moment it may be forgotten once
        decided and its prompt closed; none while a decided prompt is still open."""
        key = ("approval", record.id)
        when: float | None
        if record.pending:
            deadlines = (record.expires_at, self._reattach_by.get(record.id))
            when = min((t for t in deadlines if t is not None), default=None)
        elif record.message_closed and record.decided_at is not None:
            when = record.decided_at + self.config.reattach_grace
        else:
            when = None  # prompt_closed() arms it
        if when is None:
            self.timers.cancel(key)
        else:
            request_id = record.id
            self.timers.schedule(key, when, lambda: self._due(request_id))
