"""An operator's reply to a coding-agent session, held until the session's own hook takes it.

A session that finished its turn (or waits) is told where its operator is: the alerts post it,
and an operator answers in words, from Discord (the Reply button, ``/agent reply``) or a shell
(``chatops agents reply``). The session's ``Stop`` hook, run with ``--wait-reply``, waits for
those words (:meth:`ReplyService.await_reply`) and hands them to Claude Code as a block answer,
so the session goes on with them.

Who may do what:

* Replying is an approver's right, exactly as deciding an approval request is (a reply makes an
  agent act, as an approval does): Discord's door admits approvers only and calls
  :meth:`ReplyService.reply`; a shell goes through :meth:`ReplyService.reply_as_operator`, the
  operator's narrow door with ``approvals.socket_decisions`` (never from the session's own
  process tree, session or process group: an agent must not answer itself).
* Waiting is the session's own hook's: the caller must descend from the session's process
  (:meth:`~chatops.services.ownership.Ownership.may_speak`, which the kernel vouches for).

A reply is the operator's words: secrets in it are not masked (the agent needs them as typed),
and it is never logged (only its length). A reply sent while no hook waits is kept for the
session (the latest one replaces an earlier one) until a hook takes it, or until the session
moves on without it: its next activity (a tool call, a new start) or its end (it ends, goes
down). It lives in memory only: a controller restart forgets it, as it forgets the hooks that
waited.

Consecutive blocks are counted here, not in a file beside the hook: a hook runs as the agent's
user, so a file it keeps could be rewritten by the agent to lift the limit; the controller's
count cannot. A restart loses the count, which only lets another ``max_replies`` through, and
each block still needs a human's words.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from chatops.config.approvals import ApprovalsConfig, SocketDecisions
from chatops.records.fleet import ALIVE_STATUSES, BotState, FleetEvent, is_session
from chatops.records.replies import DEFAULT_MAX_REPLIES, MAX_REPLY_CHARS, MAX_REPLY_WAIT
from chatops.records.sessions import SessionActive
from chatops.runtime.bus import EventBus
from chatops.runtime.processes import process_ids
from chatops.services.callers import Caller
from chatops.services.errors import Invalid, NotFound, Refused
from chatops.services.fleet import FleetService
from chatops.services.operators import REPLYING, OperatorGate, operator_name

log = logging.getLogger(__name__)

REF_CHARS = 84
"""Room for a reference in a button's ``custom_id`` (``chatops:reply:`` + 84 = Discord's 100,
the ``n:``/``h:`` and the pid included): a name that does not fit is referred to by a hash."""


@dataclass(frozen=True, slots=True)
class ReplyOutcome:
    agent: str
    delivered: bool
    """A hook was waiting and has the words now; else they are kept for the session's next
    wait (see the module docstring)."""


@dataclass(slots=True, eq=False)
class _Waiter:
    caller: Caller
    future: asyncio.Future[str | None]


class ReplyService:
    def __init__(
        self,
        fleet: FleetService,
        operators: OperatorGate,
        approvals: ApprovalsConfig,
        bus: EventBus,
    ) -> None:
        self._fleet = fleet
        self._gate = operators
        self._approvals = approvals
        """The live approvals configuration: its ``socket_decisions`` governs a shell's reply
        as it governs a shell's decision."""
        self._waiting: dict[str, list[_Waiter]] = {}
        self._kept: dict[str, str] = {}
        self._blocks: dict[str, int] = {}
        """Replies handed to a session's hooks in a row (reset by a ``Stop`` that was not
        itself the continuation of one)."""
        self._unsubscribe: list[Callable[[], None]] = [
            bus.subscribe(SessionActive, self._moved_on),
            bus.subscribe(FleetEvent, self._fleet_changed),
        ]

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        for waiters in self._waiting.values():
            for waiter in waiters:
                _settle(waiter, None)

    # -- the operator's side ---------------------------------------------------------------------

    def reply(self, by: str, agent: str, text: str, *, via: str) -> ReplyOutcome:
        """``by``'s words for the session ``agent``; the door has checked that ``by`` is an
        approver (Discord's approver roles and users)."""
        _check_text(text)
        self.session(agent)
        delivered = False
        for waiter in self._waiting.get(agent, []):
            if _settle(waiter, text):
                delivered = True
                break
        if not delivered:
            self._kept[agent] = text
        # The words are the operator's and may hold a secret: their length only.
        log.info(
            "reply for %s by %s via %s (%d chars): %s",
            agent,
            by,
            via,
            len(text),
            "delivered" if delivered else "kept for its next wait",
        )
        return ReplyOutcome(agent, delivered)

    def reply_as_operator(self, caller: Caller, agent: str, text: str) -> ReplyOutcome:
        """``chatops agents reply``: through the operator's narrow door, as deciding a request
        from a shell is (``approvals.socket_decisions``; never from where the session runs)."""
        mode = self._approvals.socket_decisions
        if mode is SocketDecisions.OFF:
            raise Refused("approvals.socket_decisions is off: reply in Discord")
        self._gate.require(caller)
        _check_text(text)
        bot = self.session(agent)
        session = process_ids(bot.pid)
        if session is None:
            raise NotFound(f"the process of session {agent!r} (pid {bot.pid}) cannot be read")
        self._gate.require_apart(
            caller, [session], terminal=mode is SocketDecisions.INTERACTIVE, words=REPLYING
        )
        return self.reply(operator_name(caller), agent, text, via="cli")

    def session(self, agent: str) -> BotState:
        """The live coding-agent session ``agent``; :class:`NotFound` for a bot that is not
        one, or a session that is not running."""
        bot = self._fleet.bots.get(agent)
        if bot is None or not is_session(bot):
            raise NotFound(f"no coding-agent session called {agent!r}")
        if bot.status not in ALIVE_STATUSES:
            raise NotFound(f"session {agent!r} is not running (it is {bot.status})")
        return bot

    # -- a button's reference to a session -------------------------------------------------------

    @staticmethod
    def reference(agent: str, pid: int) -> str:
        """What a Reply button carries for the session ``agent`` run by ``pid``:
        ``n:<pid>:<name>`` when it fits a ``custom_id``, else ``h:<pid>:<hash>`` (the name's
        SHA-256, 32 hex digits). The pid ties the button to that session: a later session of
        the same name (the next ``claude`` in the same project) is not the one it asks."""
        named = f"n:{pid}:{agent}"
        return named if len(named) <= REF_CHARS else f"h:{pid}:{_digest(agent)}"

    def agent_of(self, reference: str) -> str:
        """The session a button's reference names; :class:`NotFound` when it has ended (its
        name now another process's, or nobody's)."""
        how, _, rest = reference.partition(":")
        pid_text, _, value = rest.partition(":")
        name: str | None = value if how == "n" and value else None
        if how == "h":
            sessions = (n for n, bot in self._fleet.bots.items() if is_session(bot))
            name = next((n for n in sessions if _digest(n) == value), None)
        bot = self._fleet.bots.get(name) if name is not None else None
        if name is None or bot is None or not pid_text.isdigit():
            raise NotFound("that session is no longer known")
        if bot.pid != int(pid_text):
            raise NotFound(
                f"the session that message was about has ended (pid {pid_text}); {name!r} is "
                "another session now: reply to it with /agent reply if you mean it"
            )
        return name

    # -- the session's hook ----------------------------------------------------------------------

    async def await_reply(
        self,
        caller: Caller,
        agent: str,
        pid: int,
        timeout: float,
        *,
        continued: bool = False,
        max_replies: int = DEFAULT_MAX_REPLIES,
    ) -> str | None:
        """The operator's words for the session ``agent`` (run by ``pid``), waiting up to
        ``timeout`` seconds; None when none came. ``continued``: the session is going on
        because of an earlier reply (Claude Code's ``stop_hook_active``); once
        ``max_replies`` replies were handed over in a row, None at once."""
        if caller.pid is None or not caller.local:
            raise Refused("only the session's own hook, on its host, may wait for its reply")
        if not 0 < timeout <= MAX_REPLY_WAIT:
            raise Invalid(f"a wait lasts more than 0 and at most {MAX_REPLY_WAIT:g} seconds")
        bot = self.session(agent)
        if bot.pid != pid:
            raise NotFound(f"{agent!r} is not the session of pid {pid}")
        if not self._fleet.ownership.may_speak(caller, agent):
            raise Refused(f"only the hooks of session {agent!r} may wait for its reply")
        if not continued:
            self._blocks[agent] = 0
        if self._blocks.get(agent, 0) >= max_replies:
            return None  # never block more than max_replies times in a row
        text = self._kept.pop(agent, None)
        if text is None:
            text = await self._wait(caller, agent, timeout)
        if text is not None:
            self._blocks[agent] = self._blocks.get(agent, 0) + 1
        return text

    async def _wait(self, caller: Caller, agent: str, timeout: float) -> str | None:
        """Wait for a reply. The timeout settles the future instead of cancelling the wait, so
        a reply handed over at the last moment is never lost between the two."""
        loop = asyncio.get_running_loop()
        waiter = _Waiter(caller, loop.create_future())
        self._waiting.setdefault(agent, []).append(waiter)
        timer = loop.call_later(timeout, _settle, waiter, None)
        try:
            return await waiter.future
        finally:
            timer.cancel()
            waiters = self._waiting.get(agent, [])
            if waiter in waiters:
                waiters.remove(waiter)
            if not waiters:
                self._waiting.pop(agent, None)

    def waiters(self, agent: str) -> int:
        """How many of ``agent``'s hooks wait for a reply now (a status view's, a test's)."""
        return sum(not waiter.future.done() for waiter in self._waiting.get(agent, []))

    def kept(self, agent: str) -> bool:
        """Whether a reply is kept for ``agent``'s next wait."""
        return agent in self._kept

    def connection_lost(self, caller: Caller) -> None:
        """A hook that went away waits no more: a reply must not be handed to it."""
        for waiters in self._waiting.values():
            for waiter in waiters:
                if waiter.caller is caller:
                    _settle(waiter, None)

    # -- the session moves on --------------------------------------------------------------------

    def _moved_on(self, event: SessionActive) -> None:
        if self._kept.pop(event.agent, None) is not None:
            log.info("reply kept for %s dropped: the session moved on", event.agent)

    def _fleet_changed(self, event: FleetEvent) -> None:
        if event.kind != "status_changed" or event.new_status is None:
            return
        if event.new_status in ALIVE_STATUSES:
            return
        agent = event.channel
        self._kept.pop(agent, None)
        self._blocks.pop(agent, None)
        for waiter in self._waiting.get(agent, []):
            _settle(waiter, None)


def _settle(waiter: _Waiter, text: str | None) -> bool:
    """Hand ``text`` to a waiter that still waits; False when it no longer does."""
    if waiter.future.done():
        return False
    waiter.future.set_result(text)
    return True


def _check_text(text: str) -> None:
    if not text.strip():
        raise Invalid("a reply needs some words")
    if len(text) > MAX_REPLY_CHARS:
        raise Invalid(f"a reply is at most {MAX_REPLY_CHARS} characters (this one is {len(text)})")


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:32]
