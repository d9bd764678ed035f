"""Who may speak for a name: the one place the ownership rules live.

A bot's name belongs to the connection that registered it (see ``docs/protocol.md``,
"Ownership"): only that caller, or one opened by the registered process or a descendant of it,
may heartbeat, unregister, report usage or quotas, ask approvals or write cache entries for it,
and a live owner cannot be displaced. An agent's name (``agent_status``, ``task_result``)
belongs to the process that first reported it; that process is stored with the agent, so after
a controller restart the name is still its own, not the first reporter's.

The fleet, usage, quotas, approvals and the cache all ask this service; none keeps its own map.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatops.runtime.pidwatch import pid_alive
from chatops.runtime.processes import is_self_or_descendant
from chatops.services.callers import AgentLink, Caller, NotConnected
from chatops.services.errors import Invalid, NotRegistered, Refused


@dataclass(slots=True)
class _Claim:
    pid: int
    """The registered process: its descendants may speak for the name from any connection."""
    local: bool
    """The process runs on this host, so its liveness and ancestry can be read."""
    owner: Caller | None = None
    vouched: bool = False
    """The kernel vouched for ``pid`` (the registering connection's own pid or an ancestor)."""
    session: bool = False
    """A coding-agent session: owned by its live process, not by a connection (its hooks'
    connections are brief), so nobody else takes the name while that process lives."""


class Ownership:
    def __init__(self) -> None:
        self._bots: dict[str, _Claim] = {}
        self._agents: dict[str, int] = {}
        """An agent's name -> the pid of the process that owns it."""
        self._agent_callers: dict[str, Caller] = {}
        """Agents reported from a caller that cannot vouch for its pid, in this life only."""

    # -- bots ------------------------------------------------------------------------------------

    def vouches(self, caller: Caller, pid: int, *, session: bool, required: bool) -> bool:
        """Whether the kernel vouches for ``caller`` naming ``pid`` as its bot's process: a
        bot's pid is the caller's own or a descendant's (a supervisor registers its workers);
        a coding-agent session's is the caller's or an ancestor's (its hook speaks for it).
        :class:`Refused` when it does not and ``required`` says it must."""
        if session:
            vouched = caller.pid is not None and is_self_or_descendant(caller.pid, pid)
        else:
            vouched = caller.pid is None or is_self_or_descendant(pid, caller.pid)
        if required and not vouched:
            kin = "ancestors" if session else "descendants"
            raise Refused(
                f"pid {pid} is neither the connecting process ({caller.pid}) nor one of its {kin}"
            )
        return vouched

    def remember(self, name: str, pid: int, *, local: bool, session: bool = False) -> None:
        """A bot known from the database, not connected yet: its registered process may speak
        for it again when it reconnects after a controller restart."""
        self._bots[name] = _Claim(pid=pid, local=local, session=session)

    def claim(
        self,
        caller: Caller,
        name: str,
        pid: int,
        *,
        local: bool,
        vouched: bool,
        session: bool = False,
    ) -> None:
        """``caller`` registers ``name`` for the process ``pid``. A live owner on another
        connection keeps it (:class:`Refused`) until its connection closes or its process
        exits, and so does a live session's process. A session is then owned by its process
        alone: the connection that registered it is no owner."""
        claim = self._bots.get(name)
        if claim is not None and claim.session and claim.pid != pid and pid_alive(claim.pid):
            raise Refused(
                f"{name!r} is the session of another live process (pid {claim.pid}); "
                "give this one another name (--agent)"
            )
        if claim is not None and claim.owner is not None and claim.owner is not caller:
            if not (claim.local and not pid_alive(claim.pid)):
                raise Refused(
                    f"{name!r} is owned by a live connection ({claim.owner.describe()}, "
                    f"registered pid {claim.pid}); it can be taken over once that connection "
                    "closes or its process exits"
                )
            claim.owner.owns.discard(name)
        self._bots[name] = _Claim(pid=pid, local=local, vouched=vouched, session=session)
        if not session:
            self._attach(caller, name)

    def adopt(self, caller: Caller, name: str) -> None:
        """A registered bot speaks on a connection while it has none (it reconnected after a
        controller restart): the connection becomes its owner, for pushes and for its end."""
        claim = self._bots.get(name)
        if claim is not None and claim.owner is None:
            self._attach(caller, name)

    def release(self, name: str) -> None:
        """The bot unregistered, or its process exited: nobody owns it now."""
        claim = self._bots.get(name)
        if claim is not None and claim.owner is not None:
            claim.owner.owns.discard(name)
            claim.owner = None

    def forget(self, name: str) -> None:
        """The bot left the fleet for good."""
        self.release(name)
        self._bots.pop(name, None)

    def connection_lost(self, caller: Caller) -> list[str]:
        """The names ``caller`` owned, in order; each is without an owner now."""
        names = sorted(caller.owns)
        for name in names:
            claim = self._bots.get(name)
            if claim is not None and claim.owner is caller:
                claim.owner = None
        caller.owns.clear()
        for agent in [a for a, owner in self._agent_callers.items() if owner is caller]:
            del self._agent_callers[agent]
        return names

    def may_speak(self, caller: Caller, name: str) -> bool:
        """True when ``caller`` may speak for the registered bot ``name``: it is the connection
        that registered it, or the kernel vouches that it was opened by the registered process
        or one of its descendants (clients that open a connection per message, and a bot that
        reconnects after a controller restart)."""
        claim = self._bots.get(name)
        if claim is None:
            return False
        if claim.owner is caller:
            return True
        return (
            caller.pid is not None and caller.local and is_self_or_descendant(caller.pid, claim.pid)
        )

    def authorize(self, caller: Caller, name: str) -> None:
        """Refuse ``caller`` speaking for a bot it does not own. A name nobody registered is the
        calling service's business (a heartbeat needs a registration; usage may come from a
        script that runs no bot)."""
        claim = self._bots.get(name)
        if claim is None or claim.owner is caller:
            return  # the common case, on every heartbeat: its own connection
        if not self.may_speak(caller, name):
            raise Refused(
                f"{name!r} belongs to the connection that registered it (pid {claim.pid}); "
                f"{caller.describe()} may not speak for it"
            )

    def speaker(self, caller: Caller, channel: str | None) -> str:
        """The registered bot ``caller`` speaks for: ``channel`` when it may speak for it, else
        the one bot its connection registered. A report only a bot may make (a quota pool)
        names its reporter this way."""
        if channel is not None:
            if channel not in self._bots:
                raise NotRegistered(f"{channel!r} is not registered; send register first")
            self.authorize(caller, channel)
            return channel
        if len(caller.owns) == 1:
            return next(iter(caller.owns))
        if not caller.owns:
            raise Refused(
                "only a registered bot may report this: register first, or name your bot "
                "in `channel`"
            )
        raise Invalid("this connection registered several bots: name one in `channel`")

    def registered(self, name: str) -> bool:
        return name in self._bots

    def owner(self, name: str) -> Caller | None:
        claim = self._bots.get(name)
        return None if claim is None else claim.owner

    def vouched(self, name: str) -> bool:
        """True when the bot's registered pid was vouched for by the kernel in this controller's
        life: only such a pid may be signalled."""
        claim = self._bots.get(name)
        return claim is not None and claim.vouched

    def owns_any(self, caller: Caller) -> bool:
        """True when ``caller`` has registered a bot (it is an agent's connection)."""
        return bool(caller.owns)

    def link_for(self, name: str) -> AgentLink:
        """The live connection that owns ``name``, to tell or ask;
        :class:`~chatops.services.callers.NotConnected` when there is none now."""
        owner = self.owner(name)
        link = None if owner is None else owner.link
        if link is None or link.closed:
            raise NotConnected(f"{name!r} has no live connection to push to")
        return link

    def _attach(self, caller: Caller, name: str) -> None:
        self._bots[name].owner = caller
        caller.owns.add(name)

    # -- agents ----------------------------------------------------------------------------------

    def remember_agent(self, name: str, owner_pid: int | None) -> None:
        """An agent known from the database and the process that reported it."""
        if owner_pid is not None:
            self._agents[name] = owner_pid

    def claim_agent(self, caller: Caller, name: str) -> int | None:
        """``caller`` reports for the agent ``name``: the first reporter owns it, and afterwards
        only its process (or a descendant) may, while that process lives. Returns the owner's
        pid to store with the agent."""
        owner_pid = self._agents.get(name)
        if owner_pid is not None and owner_pid != caller.pid:
            mine = (
                caller.pid is not None
                and caller.local
                and is_self_or_descendant(caller.pid, owner_pid)
            )
            if not mine and pid_alive(owner_pid):
                raise Refused(
                    f"agent {name!r} is reported by another live process (pid {owner_pid})"
                )
            if not mine:
                owner_pid = None  # its process is gone: the name is free again
        if owner_pid is None:
            if caller.pid is None:
                self._claim_agent_without_pid(caller, name)
                return None
            owner_pid = self._agents[name] = caller.pid
        return owner_pid

    def _claim_agent_without_pid(self, caller: Caller, name: str) -> None:
        """A caller the door cannot vouch a pid for owns the agent for its connection's life."""
        owner = self._agent_callers.get(name)
        if owner is not None and owner is not caller:
            raise Refused(
                f"agent {name!r} is reported by another live connection ({owner.describe()})"
            )
        self._agent_callers[name] = caller
