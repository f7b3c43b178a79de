"""Errors as ``application/problem+json`` (RFC 9457): which status each library error gets.

A client's mistake is never a 500: bad input is 422, an unknown job or agent
404, a conflict with what the store holds 409, a store that cannot be
reached 503 with ``Retry-After``. The body carries the library error's type,
message, ``field``, ``value`` and ``index``, so an HTTP client can act on
it as a Python caller acts on the exception.
"""

from __future__ import annotations

import json
from typing import Any

from core.errors import (
    BudgetError,
    CommandConflictError,
    DuplicateTaskError,
    InvalidTransitionError,
    StateError,
)
from shell.errors import DuplicateJobError, OutcomeUnknown, StateUnavailable, UnknownJobError

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "RETRY_AFTER_SECONDS",
    "BodyTooLargeError",
    "UnknownAgentError",
    "error_problem",
    "problem_body",
    "status_of",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
#: ``Retry-After`` of a 503: long enough for a restarted store actor to be back.
RETRY_AFTER_SECONDS = 2
# An error's value is echoed for the client's benefit, not to mirror a 1 MiB body back.
_MAX_VALUE_CHARS = 200


class UnknownAgentError(StateError, ValueError):
    """A reservation names an agent the store's budget does not know (HTTP 404)."""


class BodyTooLargeError(StateError, ValueError):
    """A request body over the configured limit (HTTP 413); ``value`` is the limit."""


_CONFLICTS: tuple[type[StateError], ...] = (
    CommandConflictError,
    DuplicateJobError,
    DuplicateTaskError,
    InvalidTransitionError,
)


def _is_conflict(err: StateError) -> bool:
    if isinstance(err, _CONFLICTS):
        return True
    if isinstance(err, BudgetError):
        # The core raises a plain BudgetError for the two conflicts it knows: a cost
        # record reused for another payment, and a reservation id reused for another
        # agent. The handle checks an id's shape before the call, so from the store
        # a reservation_id error is always the reuse.
        return "conflicting duplicate" in err.message or err.field == "reservation_id"
    return False


def status_of(err: StateError) -> int:
    """Return the HTTP status of a library error (never 500: every StateError is named)."""
    if isinstance(err, (StateUnavailable, OutcomeUnknown)):
        # OutcomeUnknown: the change may have been applied; its problem carries the
        # command_id, and a retry with it as Idempotency-Key applies at most once.
        return 503
    if isinstance(err, BodyTooLargeError):
        return 413
    if isinstance(err, (UnknownJobError, UnknownAgentError)):
        return 404
    if _is_conflict(err):
        return 409
    if isinstance(err, ValueError):
        return 422
    # A StateError that is not about the input is about reaching the state.
    return 503


def _plain_value(value: Any) -> Any:
    """Return ``value`` if it is small plain JSON, else a bounded ``repr`` of it."""
    if value is None or isinstance(value, (bool, int, float, str)):
        try:
            text = json.dumps(value, allow_nan=False)
        except ValueError:
            return repr(value)
        if len(text) <= _MAX_VALUE_CHARS:
            return value
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__ must not turn a 4xx into a 500
        text = f"<unprintable {type(value).__name__}>"
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."


def problem_body(status: int, error_type: str, detail: str, **extra: Any) -> dict[str, Any]:
    """Return a problem document: ``type``, ``title``, ``status``, ``detail`` and extras.

    ``type`` is the URN ``urn:eap-state:error:<ErrorClass>`` and ``title`` the
    class name, so clients can switch on either.
    """
    body: dict[str, Any] = {
        "type": f"urn:eap-state:error:{error_type}",
        "title": error_type,
        "status": status,
        "detail": detail,
    }
    body.update({key: _plain_value(value) for key, value in extra.items()})
    return body


def _library_type(err: StateError) -> str:
    """Return the name of the library class of ``err``.

    An error raised in the store actor arrives as Ray's ``RayTaskError(X)``,
    a subclass of both; the client is told ``X``.
    """
    for cls in type(err).__mro__:
        if issubclass(cls, StateError) and cls.__module__.split(".")[0] in {"core", "shell"}:
            return cls.__name__
    return StateError.__name__


def error_problem(err: StateError) -> tuple[int, dict[str, Any]]:
    """Return the status and problem document of a library error."""
    status = status_of(err)
    extra: dict[str, Any] = {"field": err.field, "value": err.value, "index": err.index}
    command_id = getattr(err, "command_id", None)
    if command_id is not None:
        extra["command_id"] = command_id
    return status, problem_body(status, _library_type(err), err.message, **extra)
