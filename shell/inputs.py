"""Argument checks the shell runs before any Ray call, shared by the managers and the store."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from core.batch_args import item_list
from core.errors import StateError, describe
from core.jobs.reducers import UpdateColumns, to_update_columns
from shell.errors import InvalidArgumentError

__all__ = ["as_batch", "check_seconds", "stamp_task_updates"]


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


def check_seconds(value: Any, field: str, none_ok: bool = False) -> float | None:
    """Return a duration as float seconds: finite and > 0 (or None when ``none_ok``).

    Raises:
        InvalidArgumentError: naming ``field`` and the value.
    """
    if value is None and none_ok:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        allowed = " or None" if none_ok else ""
        raise InvalidArgumentError(
            f"{field} must be finite seconds > 0{allowed}, got {describe(value)}",
            field=field,
            value=value,
        )
    return float(value)


def stamp_task_updates(
    updates: Any, at: float, error: type[StateError] = InvalidArgumentError
) -> UpdateColumns:
    """Validate a batch of task updates with the core and stamp ``at`` on those without one.

    They leave as `core.jobs.reducers.UpdateColumns`: validated in bulk, and five
    tuples are cheaper to pickle than a dict per update.

    Args:
        updates: A batch of mappings or `core.jobs.reducers.TaskUpdate`s, or an `UpdateColumns`.
        at: The caller's clock reading.
        error: The error type for an argument that is not a batch at all.

    Raises:
        StateError: ``updates`` is not a batch (of type ``error``), or the first
            malformed update's own error, naming its index and task id.
    """
    if not isinstance(updates, UpdateColumns):
        updates = as_batch(updates, "updates", error)
    return to_update_columns(updates, default_at=at)
