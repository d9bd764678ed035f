"""The errors services raise, whatever door the request came through.

Each door maps them to its own answer: the socket to a protocol error code
(:mod:`chatops.api.errors`), the CLI to a message and an exit status, a cog to an ephemeral
message. The message is written for the person or agent that asked, and names what to do.
"""

from __future__ import annotations


class DomainError(Exception):
    """A request the services will not carry out; nothing was changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """What the request names does not exist (a bot, a task, an approval)."""


class NotRegistered(NotFound):
    """A bot speaks before registering: it must ``register`` first."""


class Refused(DomainError):
    """The caller may not do this (it does not own the name, or is not an operator)."""


class Conflict(DomainError):
    """The request clashes with the current state (a task another connection is writing)."""


class Invalid(DomainError, ValueError):
    """The request is well-formed but its values make no sense (a path outside the cache, a
    silence longer than the longest allowed); a ``ValueError`` too, as the checks it
    replaced."""
