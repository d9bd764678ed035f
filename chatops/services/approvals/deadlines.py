"""When each approval record's next moment comes, as one keyed timer per record.

Each kept record has one timer on the injected clock, keyed ``("approval", id)``
(:mod:`chatops.runtime.timers`). While the record is pending it is set at its expiry (or at
the end of its re-attach grace after a restart, if that is sooner); when it is decided, that
timer is replaced by the one that forgets the record, ``reattach_grace`` after the decision and
once its prompt is closed. A grant's end is a timer of its own (``("grant", id)``, see
:mod:`.grants`). Nothing polls. What happens when a timer fires is the approval service's to
decide (``fire``, its ``_due``).
"""

from __future__ import annotations

from collections.abc import Callable

from chatops.config.approvals import ApprovalsConfig
from chatops.records.approvals import ApprovalRecord
from chatops.runtime.timers import Timers


class ApprovalDeadlines:
    def __init__(self, timers: Timers, config: ApprovalsConfig, fire: Callable[[int], None]):
        self._timers = timers
        self._config = config
        self._fire = fire
        self.reattach_by: dict[int, float] = {}
        """Requests pending before a restart -> when their agent must have asked again by."""

    def arm(self, record: ApprovalRecord) -> None:
        """Set the record's one timer for what comes next to it (replacing the one it had):
        its expiry or re-attach deadline while pending, the moment it may be forgotten once
        decided and its prompt closed; none while a decided prompt is still open."""
        key = ("approval", record.id)
        when: float | None
        if record.pending:
            deadlines = (record.expires_at, self.reattach_by.get(record.id))
            when = min((t for t in deadlines if t is not None), default=None)
        elif record.message_closed and record.decided_at is not None:
            when = record.decided_at + self._config.reattach_grace
        else:
            when = None  # prompt_closed() arms it
        if when is None:
            self._timers.cancel(key)
        else:
            request_id = record.id
            self._timers.schedule(key, when, lambda: self._fire(request_id))
