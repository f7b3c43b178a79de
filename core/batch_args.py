"""The one rule every batch argument follows: an iterable of items, not a lone item."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from core.errors import StateError

__all__ = ["item_list"]


def item_list(
    value: Any,
    field: str,
    error: type[StateError],
    what: str = "items",
    lone: tuple[type, ...] = (),
) -> list[Any]:
    """Return a batch argument as a list; a lone mapping or string is refused, not iterated.

    Args:
        value: What the caller passed as a batch.
        field: The argument's name, for the error.
        error: The error type to raise.
        what: What the batch holds, for the message ("updates", "mappings").
        lone: Further types that are one item although iterable (a NamedTuple item).

    Raises:
        StateError: of type ``error``, naming ``field`` and the value.
    """
    # A lone mapping or string is iterable too, but iterating it is never what was meant.
    if isinstance(value, (Mapping, str, bytes, *lone)) or not isinstance(value, Iterable):
        raise error(
            f"{field} must be an iterable of {what}, got {type(value).__name__}: {value!r}",
            field=field,
            value=value,
        )
    return list(value)
