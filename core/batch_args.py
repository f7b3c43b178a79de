"""The rules every argument of a public function follows: batches, mappings and states.

Caller objects are read once, here, into plain values: a batch into a list,
a mapping into a plain dict. Whatever a hostile argument raises while it is
read (a generator that fails midway, a mapping whose ``__getitem__`` raises
or whose keys are unhashable) becomes the caller's `StateError`, with the
original exception chained as its cause, before any state is touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from core.errors import InvalidStateError, StateError, describe

__all__ = ["check_keys", "check_state", "item_ident", "item_list", "plain_mapping"]

_S = TypeVar("_S")


def check_state(value: Any, kind: type[_S], field: str) -> _S:
    """Return ``value`` if it is a ``kind``; O(1).

    Raises:
        InvalidStateError: naming ``field`` and what it got instead.
    """
    if isinstance(value, kind):
        return value
    raise InvalidStateError(
        f"{field} must be a {kind.__name__}, got {type(value).__name__}: {describe(value)}",
        field=field,
        value=value,
    )


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
        StateError: of type ``error``, naming ``field`` and the value; when
            iterating ``value`` raised, that exception is the cause.
    """
    # A lone mapping or string is iterable too, but iterating it is never what was meant.
    if isinstance(value, (Mapping, str, bytes, bytearray, *lone)) or not isinstance(
        value, Iterable
    ):
        raise error(
            f"{field} must be an iterable of {what}, got {type(value).__name__}: {describe(value)}",
            field=field,
            value=value,
        )
    try:
        return list(value)
    except StateError:
        raise
    except Exception as err:
        raise error(
            f"{field} could not be iterated: {describe(err)}", field=field, value=value
        ) from err


def plain_mapping(value: Any, field: str, error: type[StateError]) -> dict[Any, Any]:
    """Return a mapping argument as a plain dict (a plain dict itself is returned as it is).

    Reading a ``Mapping`` subclass runs its own code; reading it once here
    keeps everything after from meeting that code again. O(len(value)).

    Raises:
        StateError: of type ``error`` when ``value`` is not a mapping or cannot
            be read (the exception reading raised is the cause).
    """
    if type(value) is dict:
        return value
    if not isinstance(value, Mapping):
        raise error(
            f"{field} must be a mapping, got {type(value).__name__}: {describe(value)}",
            field=field,
            value=value,
        )
    try:
        return dict(value.items())
    except Exception as err:
        raise error(
            f"{field} (a {type(value).__name__}) could not be read: {describe(err)}",
            field=field,
            value=value,
        ) from err


def item_ident(item: Any, key: str) -> Any:
    """Return ``item[key]`` of a batch item for an error message, or None; never raises."""
    ident = getattr(item, key, None) if isinstance(item, tuple) else None
    if isinstance(item, Mapping):
        try:
            ident = item.get(key)
        except Exception:
            ident = None
    return ident


def check_keys(
    data: Mapping[str, Any],
    allowed: frozenset[str],
    required: Sequence[str],
    where: str,
    error: type[StateError],
) -> None:
    """Raise ``error`` for the first unknown key of ``data``, then the first missing one. O(keys).

    The one rule for the keys of every mapping a caller passes (a task spec,
    an update, a budget, an agent, a cost record). ``data`` is a plain dict
    (`plain_mapping`'s result): reading it runs no caller code. ``required``
    is checked in its order.
    """
    if not allowed.issuperset(data):
        key = next(k for k in data if k not in allowed)
        raise error(
            f"{where} has unknown key {describe(key)} "
            f"(allowed: {', '.join(sorted(allowed))}), got {describe(data[key])}",
            field=key,
            value=data[key],
        )
    for key in required:
        if key not in data:
            raise error(
                f"{where} is missing required key {key!r}, got {describe(data)}",
                field=key,
                value=None,
            )
