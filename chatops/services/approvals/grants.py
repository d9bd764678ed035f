"""Grants: an approver lets one agent's actions of one type through without a prompt, for a
while ("Approve for this agent") or until revoked ("Always allow", an allow rule). A grant
never lifts a deny: it answers only what the policy would have sent to a human. A grant that
ends is dropped by its timer (``("grant", id)``), at its end."""

from __future__ import annotations

from collections.abc import Iterable

from chatops.records.approvals import Grant
from chatops.runtime.timers import Timers
from chatops.store.approvals import ApprovalTables
from chatops.timeutil import Clock, wall_clock


def live_grant(grants: Iterable[Grant], agent: str, action_type: str, now: float) -> Grant | None:
    """The grant that lets ``agent``'s ``action_type`` through at ``now``, if any."""
    for grant in grants:
        live = grant.until is None or grant.until > now
        if live and grant.agent == agent and grant.action_type == action_type:
            return grant
    return None


class GrantBook:
    def __init__(
        self, tables: ApprovalTables, *, clock: Clock = wall_clock, timers: Timers | None = None
    ) -> None:
        self._tables = tables
        self._clock = clock
        self._timers = timers if timers is not None else Timers(clock)
        self._grants: dict[int, Grant] = {}
        self._next_id = 1

    async def start(self) -> None:
        restored = await self._tables.grants(self._clock())
        self._next_id = restored.next_id
        self._grants = {grant.id: grant for grant in restored.rows}
        for grant in restored.rows:
            self._arm(grant)

    def add(self, agent: str, action_type: str, *, by: str, seconds: float | None) -> Grant:
        now = self._clock()
        grant = Grant(
            id=self._next_id,
            agent=agent,
            action_type=action_type,
            until=None if seconds is None else now + seconds,
            created_by=by,
            created_at=now,
        )
        self._next_id += 1
        self._grants[grant.id] = grant
        self._tables.save_grant(grant)
        self._arm(grant)
        return grant

    def find(self, agent: str, action_type: str) -> Grant | None:
        return live_grant(self._grants.values(), agent, action_type, self._clock())

    def revoke(self, grant_id: int) -> Grant | None:
        grant = self._grants.pop(grant_id, None)
        self._timers.cancel(("grant", grant_id))
        if grant is not None:
            self._tables.save_grant(
                Grant(
                    grant.id,
                    grant.agent,
                    grant.action_type,
                    grant.until,
                    grant.created_by,
                    grant.created_at,
                    revoked=True,
                )
            )
        return grant

    def active(self) -> list[Grant]:
        now = self._clock()
        return [g for g in self._grants.values() if g.until is None or g.until > now]

    def _arm(self, grant: Grant) -> None:
        if grant.until is not None:
            grant_id = grant.id
            self._timers.schedule(
                ("grant", grant_id), grant.until, lambda: self._grants.pop(grant_id, None)
            )
