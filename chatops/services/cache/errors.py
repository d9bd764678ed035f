"""What the cache refuses, as the domain errors every door answers (a protocol code, an
ephemeral message, a CLI exit)."""

from __future__ import annotations

from chatops.services.errors import Invalid, NotFound


class CacheError(Invalid):
    """An operation refused: unknown entry, running task without force, bad name, exists."""


class NoSuchEntry(NotFound, CacheError):
    """No live entry has that task id (answered ``not_found``, whatever asked)."""
