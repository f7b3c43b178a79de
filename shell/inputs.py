"""Argument checks the shell runs before any Ray call, shared by the managers and the store."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from core.errors import StateError
from core.updates import parse_update
from shell.ray_ops import InvalidArgumentError

__all__ = ["as_batch", "stamp_task_updates"]


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
    # A lone mapping or string is iterable too, but iterating it is never what was meant.
    if isinstance(value, (Mapping, str, bytes)) or not isinstance(value, Iterable):
        raise error(
            f"{field} must be an iterable of items, got {type(value).__name__}: {value!r}",
            field=field,
            value=value,
        )
    items = list(value)
    for index, item in enumerate(items if mappings else ()):
        if not isinstance(item, Mapping):
            raise error(
                f"{field}[{index}] must be a mapping, got {type(item).__name__}: {item!r}",
                field=field,
                value=item,
                index=index,
            )
    return items


def stamp_task_updates(updates: Iterable[Any], at: float) -> list[dict[str, Any]]:
    """Validate task updates with the core and stamp ``at`` on those without one.

    They leave as plain dicts with the status as its string: cheap to pickle,
    and an error the core raises later names each update's task id as well
    as its index.

    Args:
        updates: Mappings or `core.updates.TaskUpdate`s.
        at: The caller's clock reading.

    Raises:
        StateError: the first malformed update's own error, naming its index and task id.
    """
    stamped = []
    for index, raw in enumerate(updates):
        try:
            update = parse_update(raw)
        except StateError as err:
            ident = raw.get("task_id") if isinstance(raw, Mapping) else None
            raise err.in_batch(index, ident) from err
        if isinstance(raw, Mapping):
            # The caller's own values: cheaper to ship than their frozen copies.
            item = dict(raw)
            item["status"] = update.status.value
        else:
            item = {"task_id": update.task_id, "status": update.status.value}
            if update.result is not None:
                item["result"] = update.result
            if update.error is not None:
                item["error"] = update.error
        item["at"] = at if update.at is None else update.at
        stamped.append(item)
    return stamped
