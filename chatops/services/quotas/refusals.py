"""A coding agent refused by its provider for a rate limit: which plan pool that exhausts.

Claude Code's ``StopFailure`` with ``error: rate_limit`` (a ``failed`` session event, published
as :class:`~chatops.records.sessions.SessionFailed`) says the account's plan said no, but not
which window nor when it resets. The windows are known from the session's status line: the
pools ``claude 5h`` and ``claude 7d`` (used = the window's %, limit 100, with ``resets_at``).

The rule: of the plan pools the failing session's own status line reported last
(``Pool.reported_by`` is the session's name: a session on an API key, which has no plan
windows, exhausts nothing), whose reset is still ahead, the one with the highest use is the
window that said no — the 5-hour window, which usually limits first, unless the week is
fuller; at a tie, both. It is set at 0 % left and held there until its reset
(:meth:`~chatops.services.quotas.pools.PoolBook.exhaust`). No such pool (no status line, no
reset time to hold it until, or its windows are over): nothing is recorded.

Held, not just set: until that reset, a report of the same window (the status line redrawing
the figures of the last answer that got through, lower than the truth) does not lift it. Known
limits: the hold is kept in memory (after a restart the stored 0 % stands until the next
report, whose figures then stand); and a pool shared by several sessions names only the last
one that reported it, so the rate limit of a session that did not report it last exhausts
nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from chatops.records.plans import PLAN_POOLS
from chatops.records.sessions import SessionFailed
from chatops.services.quotas.pools import Pool, PoolBook

log = logging.getLogger(__name__)

CLAUDE_CODE = "claude-code"
RATE_LIMIT = "rate_limit"


def refused_pools(event: SessionFailed, pools: Mapping[str, Pool], now: float) -> list[Pool]:
    """The plan pools ``event`` says are exhausted (none when it is no plan's rate limit)."""
    if event.kind != CLAUDE_CODE or event.reason != RATE_LIMIT:
        return []
    known = [
        pool
        for pool in (pools.get(name) for name in PLAN_POOLS)
        if pool is not None
        and pool.reported_by == event.agent
        and pool.resets_at is not None
        and pool.resets_at > now
    ]
    if not known:
        return []
    least = min(pool.pct_left for pool in known)
    return [pool for pool in known if pool.pct_left == least]


def exhaust_refused(book: PoolBook, event: SessionFailed, now: float) -> None:
    """Hold at 0 % left, until its reset, each plan pool ``event`` says refused the session."""
    refused = refused_pools(event, book.pools, now)
    if not refused:
        if event.reason == RATE_LIMIT:
            log.info(
                "session %s (%s) hit a rate limit; no plan window of its known to mark",
                event.agent,
                event.kind,
            )
        return
    why = f"refused: session {event.agent} hit the plan's rate limit; 0% left until reset"
    for pool in refused:
        book.exhaust(pool, now, why)
        log.info("pool %s exhausted: session %s hit a rate limit", pool.name, event.agent)
