"""Domain errors: what a service raises when it refuses a request, whichever door it came from.

A service never knows who is asking through what (a slash command, a shell, the socket); it
raises one of these with a message fit to show the person who asked, and each door turns it
into its own answer: an ephemeral message in Discord, a line on stderr and an exit status in
the CLI, a typed error reply on the socket. At the bottom of the room order (like the records),
so every room may raise or catch them.

* :class:`NotFound`: what the request names does not exist (no such bot, request or grant);
* :class:`Refused`: it exists, but the rules do not allow this (a grant where a rule wants
  more than one approver);
* :class:`Conflict`: the state changed under the request (already decided, already exists);
* :class:`Invalid`: a value out of bounds (a silence longer than the longest allowed).
"""

from __future__ import annotations


class DomainError(Exception):
    """A request a service refuses; ``str()`` is the message for whoever asked."""


class NotFound(DomainError):
    """What the request names does not exist."""


class Refused(DomainError):
    """The rules do not allow it (in this state, or ever)."""


class Conflict(DomainError):
    """The state changed under the request: already decided, already there."""


class Invalid(DomainError, ValueError):
    """A value the rules do not accept (a ``ValueError`` too, as the checks it replaces)."""
