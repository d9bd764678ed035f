"""Who asks, as services see it, and how services talk back to an agent.

A door builds one :class:`Caller` per connection from what it can vouch for (on the Unix socket:
the kernel's ``SO_PEERCRED`` pid and uid) and hands it to every service call made for that
connection. The caller is the connection's identity: ownership maps names to it, and a
connection that closes is forgotten as one caller. Services never see the wire: to tell or ask
the agent on the other end, they use the caller's :class:`AgentLink`, which the door implements.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Protocol


class LinkError(Exception):
    """A message to an agent that did not get the answer it asked for."""


class NotConnected(LinkError):
    """No live connection to the agent (never connected, gone, or closed while waiting)."""


class NoAnswer(LinkError, TimeoutError):
    """The agent did not answer within the timeout."""


class Declined(LinkError):
    """The agent answered that it could not do it."""


class AgentLink(Protocol):
    """What services need from a connection to an agent."""

    @property
    def closed(self) -> bool: ...

    def tell(self, channel: str, action: str, reason: str | None = None) -> None:
        """Send ``action`` for the bot ``channel`` without waiting; :class:`NotConnected` if the
        connection is gone."""

    async def ask(
        self,
        channel: str,
        action: str,
        *,
        reason: str | None = None,
        args: dict[str, Any] | None = None,
        timeout: float,
    ) -> dict[str, Any]:
        """Send ``action`` and wait for the agent's answer (its data); :class:`NoAnswer`,
        :class:`Declined` or :class:`NotConnected` when it does not come."""


_ids = itertools.count(1)


@dataclass(slots=True, eq=False)
class Caller:
    """One connection's identity. ``pid`` and ``uid`` are None when the door cannot vouch for
    them (a transport without peer credentials, a test driving services directly); ``local``
    says whether the pid is a process on this host."""

    pid: int | None = None
    uid: int | None = None
    local: bool = True
    link: AgentLink | None = None
    owns: set[str] = field(default_factory=set)
    """The bot names this connection registered and still owns (kept by the ownership
    service)."""
    id: int = field(default_factory=lambda: next(_ids))

    def describe(self) -> str:
        return f"conn#{self.id}" + (f" pid={self.pid}" if self.pid else "")
