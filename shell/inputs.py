"""Argument checks the shell runs before any Ray call, shared by the managers and the store."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from core.batch_args import item_list
from core.errors import StateError, describe
from core.jobs.update_batch import UpdateBatch, parse_updates
from shell.errors import InvalidArgumentError

__all__ = [
    "MAX_SECONDS",
    "as_batch",
    "check_clock",
    "check_count",
    "check_name",
    "check_release_args",
    "check_reserve_args",
    "check_seconds",
    "check_version",
    "stamp_task_updates",
]


def as_batch(
    value: Any,
    field: str,
    error: type[StateError] = InvalidArgumentError,
    mappings: bool = False,
) -> list[Any]:
    """Return a batch argument as a list; a lone mapping or string is refused, not iterated.

    Args:
        value: What the caller passed as a batch.
        field: The argument's name, for the error.
        error: The error type to raise (the core's own type where one fits).
        mappings: Also require every item to be a mapping.

    Raises:
        StateError: of type ``error``, naming ``field`` and the value (and the
            index of the first item that is not a mapping).
    """
    items = item_list(value, field, error)
    for index, item in enumerate(items if mappings else ()):
        if not isinstance(item, Mapping):
            raise error(
                f"{field}[{index}] must be a mapping, got {type(item).__name__}: {describe(item)}",
                field=field,
                value=item,
                index=index,
            )
    return items


def check_name(value: Any, field: str) -> str:
    """Return a name or id argument: a str that is not blank and is valid Unicode. O(len).

    Names travel to Ray (actor names), to journals (UTF-8) and to JSON: a lone
    surrogate would fail deep inside one of them, so it is refused here.

    Raises:
        InvalidArgumentError: naming ``field`` and the value.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(
            f"{field} must be a non-empty str, got {describe(value)}", field=field, value=value
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        raise InvalidArgumentError(
            f"{field} must be valid Unicode text (no lone surrogates), got {describe(value)}",
            field=field,
            value=value,
        ) from err
    return value


def check_reserve_args(agent_name: Any, agent_config: Any, reservation_id: Any) -> None:
    """Check a reservation's arguments before any remote call.

    Raises:
        InvalidArgumentError: a blank or non-str ``agent_name`` or ``reservation_id``,
            or an ``agent_config`` that is neither a mapping nor None.
    """
    check_release_args(agent_name, reservation_id)
    if agent_config is not None and not isinstance(agent_config, Mapping):
        raise InvalidArgumentError(
            f"agent_config must be a mapping or None, got {describe(agent_config)}",
            field="agent_config",
            value=agent_config,
        )


def check_release_args(agent_name: Any, reservation_id: Any) -> None:
    """Check the agent and the optional reservation id of a release (or a reservation).

    Raises:
        InvalidArgumentError: a blank or non-str ``agent_name`` or ``reservation_id``.
    """
    check_name(agent_name, "agent_name")
    if reservation_id is not None:
        check_name(reservation_id, "reservation_id")


def check_version(value: Any, field: str = "since_version") -> int | None:
    """Return a version argument: an int or None (a bool is refused).

    Raises:
        InvalidArgumentError: naming ``field`` and the value.
    """
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidArgumentError(
            f"{field} must be an int or None, got {describe(value)}", field=field, value=value
        )
    return value


#: Longest duration a timeout or TTL may be (about 31 years). Ray turns a
#: timeout into integer milliseconds and refuses (OverflowError) what does not
#: fit; anything this long means "for ever", which None already says.
MAX_SECONDS = 1e9
#: Largest clock reading accepted (a monotonic or epoch clock is far below it).
MAX_CLOCK = 1e15


def check_count(value: Any, field: str, none_ok: bool = False) -> int | None:
    """Return a count of items: an int >= 1 (or None when ``none_ok``).

    Raises:
        InvalidArgumentError: naming ``field`` and the value.
    """
    if value is None and none_ok:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgumentError(
            f"{field} must be an int >= 1{' or None' if none_ok else ''}, got {describe(value)}",
            field=field,
            value=value,
        )
    return value


def check_seconds(value: Any, field: str, none_ok: bool = False) -> float | None:
    """Return a duration as float seconds: > 0 and <= `MAX_SECONDS` (or None when ``none_ok``).

    NaN, infinities and ints too large for a float are refused too, without
    converting them first (``float(10**400)`` itself overflows).

    Raises:
        InvalidArgumentError: naming ``field`` and the value.
    """
    if value is None and none_ok:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0 < value <= MAX_SECONDS
    ):
        allowed = " or None" if none_ok else ""
        raise InvalidArgumentError(
            f"{field} must be seconds > 0 and <= {MAX_SECONDS:.0e}{allowed}, got {describe(value)}",
            field=field,
            value=value,
        )
    return float(value)


def check_clock(clock: Any, field: str = "clock") -> Callable[[], float]:
    """Return ``clock`` after calling it once: it must give finite seconds (an int or float).

    Catches a wrong clock where it is given, not at its first use deep inside
    a read (``StateCache(clock=lambda: "x")`` used to fail at the first ``get``).

    Raises:
        InvalidArgumentError: ``clock`` is not callable, raises, or returns
            something else (the clock's own error chained).
    """
    if not callable(clock):
        raise InvalidArgumentError(
            f"{field} must be callable, got {describe(clock)}", field=field, value=clock
        )
    try:
        reading = clock()
    except Exception as err:
        raise InvalidArgumentError(
            f"{field}() raised {type(err).__name__}: {describe(err)}", field=field, value=clock
        ) from err
    if (
        isinstance(reading, bool)
        or not isinstance(reading, (int, float))
        or not -MAX_CLOCK <= reading <= MAX_CLOCK
    ):
        raise InvalidArgumentError(
            f"{field}() must return finite seconds, got {describe(reading)}",
            field=field,
            value=clock,
        )
    return clock  # type: ignore[no-any-return]


def stamp_task_updates(
    updates: Any, at: float, error: type[StateError] = InvalidArgumentError
) -> UpdateBatch:
    """Validate a batch of task updates once with the core and stamp ``at`` on those without one.

    Rows the core already parsed (a `StateBatcher`'s) and a batch this
    process made are not checked again (`core.jobs.update_batch.parse_updates`).

    Args:
        updates: A batch of mappings or `core.jobs.reducers.TaskUpdate`s, or an `UpdateBatch`.
        at: The caller's clock reading.
        error: The error type for an argument that is not a batch at all.

    Raises:
        StateError: ``updates`` is not a batch (of type ``error``), or the first
            malformed update's own error, naming its index and task id.
    """
    if not isinstance(updates, UpdateBatch):
        updates = as_batch(updates, "updates", error)
    return parse_updates(updates, at)
