"""Silences: mute a subject's alerts (all of them, or one incident kind), or everything
(maintenance), until a time; each expires by itself. Incidents are still recorded while
silenced; only notifications wait.

The rules every door follows: a silence lasts a positive time and at most ``MAX_SILENCE``;
silencing a bot by name (:meth:`SilenceService.silence_bot`) needs a bot the fleet knows; ending
one early needs one that is active (:meth:`SilenceService.end`). Who may is each door's mapping
of its caller: Discord's admins; on the socket (``chatops silence|unsilence|maintenance``), the
operator's narrow door (:class:`~chatops.services.operators.OperatorGate`), through the
``*_as_operator`` methods, which record who did it as every shell action is recorded."""

from __future__ import annotations

import logging
from collections.abc import Callable

from chatops.config.approvals import SocketDecisions
from chatops.records.alerts import Silence
from chatops.services.callers import Caller
from chatops.services.errors import Invalid, NotFound, Refused
from chatops.services.operators import OperatorGate, operator_name
from chatops.store import Store
from chatops.timeutil import Clock, wall_clock

log = logging.getLogger(__name__)

MAX_SILENCE = 30 * 86400
"""The longest a silence may last: a forgotten one ends by itself within a month."""


class SilenceService:
    def __init__(
        self,
        store: Store,
        *,
        clock: Clock = wall_clock,
        operators: OperatorGate | None = None,
        decisions: SocketDecisions = SocketDecisions.INTERACTIVE,
    ) -> None:
        self._tables = store.alerts
        self._clock = clock
        self._operators = operators
        """The socket's operator door; without one (a service built alone), no shell may act."""
        self._decisions = decisions
        """``approvals.socket_decisions``: a silence hides alerts, so a shell may set one only
        as it may decide a request (from a terminal by default)."""
        self._silences: dict[int, Silence] = {}
        self._next_id = 1
        self.is_bot: Callable[[str], bool] = lambda name: True
        """Does the fleet know a bot by this name? (set by the controller once the fleet is
        built, after the alerts it feeds)"""

    async def start(self) -> None:
        restored = await self._tables.silences()
        self._next_id = restored.next_id
        self._silences = {silence.id: silence for silence in restored.rows}
        self.expire()

    @staticmethod
    def check_length(seconds: float) -> None:
        """Raise :class:`Invalid` unless a silence may last ``seconds`` (a door asks before it
        confirms; :meth:`add` checks again)."""
        if seconds <= 0:
            raise Invalid("a silence must last a positive time")
        if seconds > MAX_SILENCE:
            raise Invalid(f"a silence lasts at most {MAX_SILENCE // 86400} days")

    def silence_bot(
        self,
        bot: str,
        seconds: float,
        *,
        kind: str | None = None,
        created_by: str | None = None,
        reason: str | None = None,
    ) -> Silence:
        """Silence a bot named by hand (``/silence``): :class:`NotFound` unless the fleet
        knows it, so a typo never silences a name nothing will ever alert on."""
        if not self.is_bot(bot):
            raise NotFound(f"No bot called {bot!r}")
        return self.add(bot, seconds, kind=kind, created_by=created_by, reason=reason)

    def add(
        self,
        subject: str | None,
        seconds: float,
        *,
        kind: str | None = None,
        created_by: str | None = None,
        reason: str | None = None,
    ) -> Silence:
        """Silence ``subject`` (None: everything) for ``seconds``; only its ``kind`` incidents
        when given."""
        self.check_length(seconds)
        if subject is None and kind is not None:
            raise Invalid("maintenance silences everything; it takes no kind")
        now = self._clock()
        silence = Silence(
            id=self._next_id,
            subject=subject,
            kind=kind,
            until=now + seconds,
            created_at=now,
            created_by=created_by,
            reason=reason,
        )
        self._next_id += 1
        self._silences[silence.id] = silence
        self._tables.add_silence(silence)
        return silence

    def end(self, silence_id: int, *, by: str) -> Silence:
        """End silence ``silence_id`` early (``/unsilence``): :class:`NotFound` unless it is
        active. Who ended it goes to the log (the silence's row is gone)."""
        silence = self._silences.get(silence_id)
        if silence is None or silence.until <= self._clock():
            raise NotFound(f"No active silence #{silence_id}")
        self.remove(silence_id)
        log.info("silence #%d (%s) ended early by %s", silence_id, silence.subject or "all", by)
        return silence

    # -- from a shell, through the operator's narrow door ----------------------------------------

    def silence_as_operator(
        self,
        caller: Caller,
        bot: str,
        seconds: float,
        *,
        kind: str | None = None,
        reason: str | None = None,
    ) -> Silence:
        """``chatops silence``: :meth:`silence_bot`, by the operator."""
        self._require_operator(caller)
        return self.silence_bot(
            bot, seconds, kind=kind, created_by=operator_name(caller), reason=reason
        )

    def maintenance_as_operator(
        self, caller: Caller, seconds: float, *, reason: str | None = None
    ) -> Silence:
        """``chatops maintenance``: silence everything (:meth:`add` with no subject), by the
        operator."""
        self._require_operator(caller)
        return self.add(None, seconds, created_by=operator_name(caller), reason=reason)

    def end_as_operator(self, caller: Caller, silence_id: int) -> Silence:
        """``chatops unsilence``: :meth:`end`, by the operator."""
        self._require_operator(caller)
        return self.end(silence_id, by=operator_name(caller))

    def _require_operator(self, caller: Caller) -> None:
        if self._operators is None:
            raise Refused("silences cannot be changed over the socket here")
        self._operators.require_decider(caller, self._decisions)

    def remove(self, silence_id: int) -> bool:
        if self._silences.pop(silence_id, None) is None:
            return False
        self._tables.delete_silence(silence_id)
        return True

    def expire(self) -> None:
        now = self._clock()
        for silence in [s for s in self._silences.values() if s.until <= now]:
            self.remove(silence.id)

    def active(self) -> list[Silence]:
        now = self._clock()
        return sorted((s for s in self._silences.values() if s.until > now), key=lambda s: s.until)

    def is_silenced(self, subject: str, kind: str | None = None) -> bool:
        """True when a silence covers ``subject``'s alerts of incident kind ``kind``."""
        now = self._clock()
        return any(s.covers(subject, kind, now) for s in self._silences.values())
