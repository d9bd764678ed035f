"""Who may change things over the socket (decide an approval, delete cache entries).

Agents usually run as the operator's own uid, so the uid alone cannot tell the operator's
shell from an agent, and nothing can for certain: same uid is one trust domain (such an agent
could edit the database). The door is therefore narrow, and closes the easy paths: the
controller's own uid only (not merely ``socket_group``), never a connection that spoke as an
agent (registered a bot, asked for an approval, wrote a cache entry), and, for a decision on a
request, never from where the asking agent stands (its process tree, session or process group,
as recorded when it asked) and, in ``interactive`` mode, only from a process with a controlling
terminal. The hard line is agents under another uid, admitted with ``socket_group``."""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass

from chatops.config.approvals import SocketDecisions
from chatops.runtime.processes import ProcessIds, is_self_or_descendant, process_ids
from chatops.services.callers import Caller
from chatops.services.errors import Refused
from chatops.services.ownership import Ownership


def operator_name(caller: Caller) -> str:
    """Who decided from a shell, as the records say it: ``cli (uid 1000, pid 4242)``."""
    return f"cli (uid {caller.uid}, pid {caller.pid})" if caller.uid is not None else "cli"


@dataclass(frozen=True, slots=True)
class ApartWords:
    """How a refusal names the agent and the act, for a decision or a reply."""

    agent: str
    agents: str
    own: str
    act: str
    instead: str


DECIDING = ApartWords(
    agent="the agent that asked",
    agents="the asking agent's",
    own="decide its own request",
    act="decide its request",
    instead="decide",
)
REPLYING = ApartWords(
    agent="the session",
    agents="the session's",
    own="reply to itself",
    act="reply to it",
    instead="reply",
)


class OperatorGate:
    def __init__(self, ownership: Ownership) -> None:
        self._ownership = ownership
        self._agent_conns: set[int] = set()
        self._agent_uids: set[int] = set()

    def spoke_as_agent(self, caller: Caller) -> None:
        self._agent_conns.add(caller.id)
        if caller.uid is not None:
            self._agent_uids.add(caller.uid)

    def connection_lost(self, caller: Caller) -> None:
        self._agent_conns.discard(caller.id)

    def agent_uids(self) -> frozenset[int]:
        """The uids agents spoke from since the start (``chatops doctor`` warns when the
        controller's own is one of them while decisions are open)."""
        return frozenset(self._agent_uids)

    def require(self, caller: Caller) -> None:
        """Raise :class:`~chatops.services.errors.Refused` unless ``caller`` may act as the
        operator."""
        refusal = self.refusal(caller)
        if refusal is not None:
            raise Refused(refusal)

    def refusal(self, caller: Caller) -> str | None:
        """Why ``caller`` may not act as the operator, or None."""
        if caller.uid is not None and caller.uid != os.geteuid():
            return "only the controller's own user may do this over the socket"
        if self._ownership.owns_any(caller) or caller.id in self._agent_conns:
            return "a connection that speaks for a bot or an agent may not do this"
        return None

    def require_decider(self, caller: Caller, mode: SocketDecisions) -> None:
        """A change that decides what later requests or alerts get (the approval policy, a
        silence) follows ``approvals.socket_decisions`` as deciding a request does: ``off``,
        never over the socket; ``interactive``, only from a process with a controlling terminal
        (an agent's own shell tool has none); ``any``, the operator's door alone."""
        if mode is SocketDecisions.OFF:
            raise Refused("approvals.socket_decisions is off: do this in Discord")
        self.require(caller)
        if mode is SocketDecisions.INTERACTIVE:
            ids = process_ids(caller.pid) if caller.pid is not None else None
            if ids is None:
                raise Refused(
                    "the process asking cannot be identified (no pid the kernel vouches for)"
                )
            if not ids.terminal:
                raise Refused(
                    "approvals.socket_decisions is interactive: do this from a terminal (this "
                    "process has no controlling terminal), or set it to any for automation"
                )

    def require_apart(
        self,
        caller: Caller,
        askers: Collection[ProcessIds],
        *,
        terminal: bool,
        words: ApartWords = DECIDING,
    ) -> None:
        """Raise :class:`~chatops.services.errors.Refused` unless the process deciding stands
        apart from every process that asked (see :meth:`apart_refusal`)."""
        refusal = self.apart_refusal(caller, askers, terminal=terminal, words=words)
        if refusal is not None:
            raise Refused(refusal)

    @staticmethod
    def apart_refusal(
        caller: Caller,
        askers: Collection[ProcessIds],
        *,
        terminal: bool,
        words: ApartWords = DECIDING,
    ) -> str | None:
        """Why ``caller``'s process may not decide a request ``askers`` made, or None.

        A child of the agent is in its tree; a double fork leaves the tree but keeps the
        agent's session and process group; ``setsid`` leaves those too but has no controlling
        terminal, which ``terminal`` (the ``interactive`` mode) requires. Whatever cannot be
        read is refused: the deciding process must be identified, and so must the asker."""
        if not askers:
            return (
                "the agent that asked is not known yet (it has not asked again since the "
                "controller restarted), so a decision here cannot be told apart from it"
            )
        decider = process_ids(caller.pid) if caller.pid is not None else None
        if decider is None:
            return "the deciding process cannot be identified (no pid the kernel vouches for)"
        for asker in askers:
            if is_self_or_descendant(decider.pid, asker.pid):
                return f"{words.agent} (or a process it started) may not {words.own}"
            if decider.sid == asker.sid:
                return (
                    f"a process in {words.agents} session may not {words.act}: "
                    f"{words.instead} from another terminal"
                )
            if decider.pgid == asker.pgid:
                return f"a process in {words.agents} process group may not {words.act}"
        if terminal and not decider.terminal:
            return (
                "approvals.socket_decisions is interactive: decide from a terminal (this "
                "process has no controlling terminal), or set it to any for automation"
            )
        return None
