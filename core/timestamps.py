"""Timestamps the caller passes in: the core never reads a clock."""

from __future__ import annotations

import math

from core.errors import StateError, describe

__all__ = ["epoch_seconds"]


def epoch_seconds(value: object, field: str, error: type[StateError]) -> float | None:
    """Return ``value`` as float epoch seconds, or None when it is None.

    Args:
        value: An int or float (not a bool), finite, or None.
        field: The field's name, for the error.
        error: The error type the caller's context raises.

    Raises:
        StateError: of type ``error``, naming ``field`` and ``value``.
    """
    if value is None:
        return None
    if not isinstance(value, bool) and isinstance(value, (int, float)):
        try:
            seconds = float(value)
        except OverflowError:  # an int too large for a float is no timestamp either
            seconds = math.inf
        if math.isfinite(seconds):
            return seconds
    raise error(
        f"{field} must be finite epoch seconds or None, got {describe(value)}",
        field=field,
        value=value,
    )
