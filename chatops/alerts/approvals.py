"""Approval alerts: a request waiting for a human is announced to the webhooks.

Headless approvers learn its id there (``chatops approvals approve <id>``). The Discord alert
channel is never handed it: the approvals cog posts its own prompt, with buttons, from the same
:class:`~chatops.services.approvals.events.ApprovalRequested` event.
"""

from __future__ import annotations

from chatops.alerts.router import AlertRouter
from chatops.alerts.sinks import SinkKind
from chatops.records.alerts import Alert, Severity
from chatops.records.approvals import ApprovalRecord
from chatops.runtime.bus import EventBus
from chatops.services.approvals.events import ApprovalRequested

WEBHOOKS = frozenset({SinkKind.WEBHOOK})


def requested_alert(record: ApprovalRecord) -> Alert:
    """The webhooks' announcement of a pending request: headless approvers learn its id here."""
    return Alert(
        kind="approval_requested",
        subject=record.agent,
        severity=Severity.WARNING,
        title=f"⏳ {record.agent} asks to run a {record.action_type}",
        body=f"#{record.id}: {record.summary}\n{record.reason} (rule {record.rule})",
        ts=record.requested_at,
        data={
            "request": record.id,
            "action_type": record.action_type,
            "expires_at": record.expires_at,
        },
    )


class ApprovalAlerts:
    def __init__(self, router: AlertRouter, bus: EventBus) -> None:
        self._router = router
        self._unsubscribe = bus.subscribe(ApprovalRequested, self.on_requested)

    def close(self) -> None:
        self._unsubscribe()

    def on_requested(self, event: ApprovalRequested) -> None:
        self._router.notify(requested_alert(event.record), to=WEBHOOKS)
