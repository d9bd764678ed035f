"""Running usage totals from coding agents (``usage_totals``): the increase over the last totals
seen for (channel, session) becomes one ``llm_usage`` row of the model the report names, so the
quota and budget machinery counts it like any call.

The totals are the session's, whatever the model: Claude Code's cost and tokens, and Codex's
token counts, run over the whole session. Kept per model, a session switching models (``/model``)
would have its whole spend counted again under the new one; kept per session, a switch counts
only what the session spent since, under the model it now uses.

Why totals and not calls: Claude Code's status line and Codex's session logs only show running
counters. A report is absolute, so one that was lost is made up by the next, and the same
totals sent twice (a status line redrawn, a log line read again) change nothing.

The rules, per counter (cost, tokens in, tokens out):

- the first totals seen for a key count in full (the session started from zero);
- a counter that grew counts its growth;
- a counter that went down started again from zero (a new session reusing the id, a counter
  reset): its new value counts in full, never a negative increase. ``generation`` then grows,
  so the idempotency keys of the new run never collide with the old run's.

The last totals are kept in memory and saved with the usage row in one transaction
(``usage_running_totals``), so after a restart the same totals are still counted once; the
row's idempotency key, derived from (channel, session, generation, totals), guards the
same again. A failed commit puts the last committed totals back: the client's next report
(or its retry) carries the increase again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from chatops.records.usage import RunningTotals
from chatops.services.callers import Caller
from chatops.services.ownership import Ownership
from chatops.services.usage import UsageService
from chatops.store import Store
from chatops.store.running_totals import RunningKey
from chatops.timeutil import Clock, wall_clock

SESSION_WIDE = "*"
"""The model column of a session's running totals (the table's key names a model; the totals
are the session's, whatever model it used)."""
FEATURE = "session totals"
"""The ``feature`` of the usage rows made from totals (where ``get_usage`` breaks them down)."""


@dataclass(frozen=True, slots=True)
class Increase:
    """What one report added: stored as one usage row (None when nothing changed)."""

    cost: float
    tokens_in: int
    tokens_out: int
    restarted: bool
    """A counter went down: its new value counted from zero."""
    key: str


def increase(last: RunningTotals | None, new: RunningTotals) -> tuple[float, int, int, bool]:
    """(cost, tokens in, tokens out, restarted): ``new`` over ``last``, counter by counter; a
    counter below its last value counts from zero (never negative)."""
    if last is None:
        return new.cost, new.tokens_in, new.tokens_out, False
    restarted = False

    def grew(now: float, before: float) -> float:
        nonlocal restarted
        if now < before:
            restarted = True
            return now
        return now - before

    cost = grew(new.cost, last.cost)
    tokens_in = int(grew(new.tokens_in, last.tokens_in))
    tokens_out = int(grew(new.tokens_out, last.tokens_out))
    return max(0.0, cost), tokens_in, tokens_out, restarted


def totals_key(key: RunningKey, totals: RunningTotals) -> str:
    """The usage row's idempotency key: the same totals of the same run give the same key."""
    channel, session, model = key
    text = "\x00".join(
        (
            channel,
            session,
            model,
            str(totals.generation),
            repr(totals.cost),
            str(totals.tokens_in),
            str(totals.tokens_out),
        )
    )
    return "totals:" + hashlib.sha256(text.encode()).hexdigest()[:40]


class UsageTotalsService:
    def __init__(
        self,
        store: Store,
        usage: UsageService,
        ownership: Ownership,
        *,
        clock: Clock = wall_clock,
    ) -> None:
        self._store = store
        self._tables = store.running_totals
        self._usage = usage
        self._ownership = ownership
        self._clock = clock
        self._last: dict[RunningKey, RunningTotals] = {}
        """What the latest report set (committed or on its way)."""
        self._committed: dict[RunningKey, RunningTotals] = {}
        """What the store holds: put back when a commit fails."""

    async def start(self, since: float) -> None:
        """Reload the totals received since ``since`` (the retention cutoff)."""
        self._committed = await self._tables.load(since)
        self._last = dict(self._committed)

    def report(
        self,
        caller: Caller,
        channel: str,
        session: str,
        model: str,
        *,
        cost: float = 0.0,
        tokens_in: int = 0,
        tokens_out: int = 0,
        ts: float | None = None,
    ) -> Increase | None:
        """Store the increase of these totals over the last of (channel, session), as usage of
        ``model``.

        Only a caller that may speak for the registered bot ``channel`` reports for it (a
        session's hook or status line is the session process's descendant)."""
        self._ownership.speaker(caller, channel)
        key: RunningKey = (channel, session, SESSION_WIDE)
        last = self._last.get(key)
        now = self._clock()
        new = RunningTotals(float(cost), int(tokens_in), int(tokens_out), ts=now)
        if last is not None and last.same(new):
            return None  # the same totals again: counted already
        d_cost, d_in, d_out, restarted = increase(last, new)
        generation = (last.generation if last is not None else 0) + (1 if restarted else 0)
        new = RunningTotals(new.cost, new.tokens_in, new.tokens_out, generation, now)
        row_key = totals_key(key, new)
        stored = None
        if d_cost > 0 or d_in > 0 or d_out > 0:
            # Validates the time and the caller first: a refusal leaves the totals unchanged.
            self._usage.log_usage(
                caller,
                channel,
                model,
                feature=FEATURE,
                tokens_in=d_in,
                tokens_out=d_out,
                estimated_cost=d_cost,
                key=row_key,
                ts=ts,
            )
            stored = Increase(d_cost, d_in, d_out, restarted, row_key)
        # Even with nothing to count (a counter back to zero), these are the totals to grow
        # from next time.
        self._last[key] = new
        self._tables.save(key, new)
        self._store.db.after_commit(lambda error: self._settle(key, new, error))
        return stored

    def _settle(self, key: RunningKey, totals: RunningTotals, error: BaseException | None) -> None:
        if error is None:
            self._committed[key] = totals
            return
        committed = self._committed.get(key)
        if committed is None:
            self._last.pop(key, None)
        else:
            self._last[key] = committed

    def last(self, channel: str, session: str) -> RunningTotals | None:
        """The last totals of (channel, session), for views and tests."""
        return self._last.get((channel, session, SESSION_WIDE))
