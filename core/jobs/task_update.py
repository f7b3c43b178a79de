"""`TaskUpdate`: one validated status report for one task, and its parser."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from core.batch_args import check_keys, plain_mapping
from core.errors import InvalidUpdateError, describe
from core.frozen import freeze
from core.jobs.ids import check_id
from core.jobs.status import STATUS_BY_VALUE, TaskStatus, parse_status
from core.timestamps import epoch_seconds

__all__ = [
    "ALLOWED_UPDATE_KEYS",
    "OPTIONAL_UPDATE_KEYS",
    "REQUIRED_UPDATE_KEYS",
    "TaskUpdate",
    "parse_update",
]

REQUIRED_UPDATE_KEYS = frozenset({"task_id", "status"})
OPTIONAL_UPDATE_KEYS = frozenset({"result", "error", "at"})
ALLOWED_UPDATE_KEYS = REQUIRED_UPDATE_KEYS | OPTIONAL_UPDATE_KEYS
_new_tuple = tuple.__new__


class TaskUpdate(NamedTuple):
    """A status report for one task; `parse_update` returns validated ones.

    One built by hand is checked again wherever it is used; one `parse_update`
    returned is trusted by the batch reducers and `core.jobs.update_batch.parse_updates`.
    """

    task_id: str
    status: TaskStatus
    result: Any = None
    error: str | None = None
    at: float | None = None


class ParsedUpdate(TaskUpdate):
    """Private: a `TaskUpdate` this module validated, so batches need not check it again.

    Only `checked_update` makes one. It equals, hashes and prints like the
    `TaskUpdate` it is; anything that would derive a new row from it
    (``_replace``, ``_make``, a pickle or a copy) gives a plain `TaskUpdate`,
    which is checked again, so a caller cannot turn unchecked values into a
    trusted row, nor smuggle one across a process boundary.
    """

    __slots__ = ()

    @classmethod
    def _make(cls, iterable: Any) -> TaskUpdate:  # type: ignore[override]
        return TaskUpdate._make(iterable)

    def __reduce__(self) -> tuple[Any, ...]:
        return (TaskUpdate, tuple(self))

    def __repr__(self) -> str:
        return repr(TaskUpdate._make(self))


def parse_update(update: Mapping[str, Any] | TaskUpdate) -> TaskUpdate:
    """Validate an update mapping and return it as a `TaskUpdate`.

    Args:
        update: ``{"task_id", "status", optional "result", "error", "at"}``, or a
            `TaskUpdate` (checked again unless this function returned it:
            anyone can build one by hand).

    Raises:
        InvalidUpdateError: not a mapping, an unknown or missing key, or a wrong type.
    """
    if type(update) is ParsedUpdate:
        return update
    if isinstance(update, TaskUpdate):
        return checked_update(*update)
    update = plain_mapping(update, "update", InvalidUpdateError)
    check_keys(update, ALLOWED_UPDATE_KEYS, ("task_id", "status"), "update", InvalidUpdateError)
    get = update.get
    return checked_update(
        update["task_id"], update["status"], get("result"), get("error"), get("at")
    )


def checked_update(task_id: Any, status: Any, result: Any, error: Any, at: Any) -> TaskUpdate:
    """Return a `TaskUpdate` after checking each field's type and value.

    Raises:
        InvalidUpdateError: naming the first bad field and its value.
    """
    check_id(task_id, "task_id", InvalidUpdateError)
    parsed_status = STATUS_BY_VALUE.get(status) if isinstance(status, str) else None
    if parsed_status is None:
        parsed_status = parse_status(status)
    if error is not None and not isinstance(error, str):
        raise InvalidUpdateError(
            f"error must be a str or None, got {describe(error)}", field="error", value=error
        )
    at = epoch_seconds(at, "at", InvalidUpdateError)
    if result is not None and type(result) is not str:
        result = freeze(result, "result", InvalidUpdateError)
    return _new_tuple(ParsedUpdate, (task_id, parsed_status, result, error, at))
