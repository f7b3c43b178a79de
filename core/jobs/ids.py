"""The ids of the jobs domain: a job's, a task's and an agent's, checked by one rule."""

from __future__ import annotations

from core.errors import StateError, describe

__all__ = ["check_id"]


def check_id(value: object, field: str, error: type[StateError]) -> str:
    """Return ``value`` if it is a non-empty str. O(1).

    Unlike the shell's names, an id may be blank text: the core stores what
    the caller chose, and only an empty id could not be told apart from none.

    Args:
        value: The id the caller passed.
        field: The field's name, for the error.
        error: The error type the caller's context raises.

    Raises:
        StateError: of type ``error``, naming ``field`` and ``value``.
    """
    if not isinstance(value, str) or not value:
        raise error(
            f"{field} must be a non-empty str, got {describe(value)}", field=field, value=value
        )
    return value
