"""Domain errors as the protocol's error codes: the same mapping for every request."""

from __future__ import annotations

from chatops.services.callers import LinkError
from chatops.services.errors import (
    Conflict,
    DomainError,
    Invalid,
    NotFound,
    NotRegistered,
    Refused,
)
from chatops.wire.protocol import ErrorCode

CODES: dict[type[Exception], ErrorCode] = {
    NotRegistered: ErrorCode.NOT_REGISTERED,
    NotFound: ErrorCode.NOT_FOUND,
    Refused: ErrorCode.PERMISSION_DENIED,
    Conflict: ErrorCode.CONFLICT,
    Invalid: ErrorCode.INVALID_MESSAGE,
    LinkError: ErrorCode.NOT_FOUND,
}
"""The most specific class wins: ``NotRegistered`` is a ``NotFound`` with its own code."""


def explain(exc: Exception) -> tuple[ErrorCode, str] | None:
    """The error reply for an exception a service raised, or None for a bug (answered
    ``internal_error`` and logged by the connection)."""
    for cls in type(exc).__mro__:
        code = CODES.get(cls)
        if code is not None:
            message = exc.message if isinstance(exc, DomainError) else str(exc)
            return code, message
    return None
