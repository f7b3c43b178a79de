"""`UpdateColumns`: a batch of task updates held column by column and validated in bulk.

A batch as a list of dicts costs a Python-level check per field of every
update, and a dict per update on the wire. As five columns, each check is one
C-level pass over a tuple (``set(map(type, column))``), and the batch pickles
as five tuples. The shell ships batches to the store in this form and the
reducers in `core.jobs.reducers` apply it. The rules are `core.jobs.task_update.parse_update`'s:
a batch that fails a bulk check is parsed again update by update, so the
error raised is exactly the one the first bad update raises on its own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from itertools import repeat
from operator import itemgetter
from typing import Any, NamedTuple, cast

from core.batch_args import item_ident, item_list
from core.errors import InvalidUpdateError, StateError, describe
from core.frozen import freeze
from core.jobs.status import STATUS_BY_VALUE, TaskStatus
from core.jobs.task_update import (
    ALLOWED_UPDATE_KEYS,
    REQUIRED_UPDATE_KEYS,
    ParsedUpdate,
    TaskUpdate,
    parse_update,
)
from core.timestamps import epoch_seconds

__all__ = ["UpdateColumns", "stamped_columns", "to_update_columns", "update_list"]

_NONE = type(None)
_ID_TYPES = frozenset({str})
_STATUS_TYPES = frozenset({str, TaskStatus})
_MEMBER_ONLY = frozenset({TaskStatus})
_STR_ONLY = {str}
_ERROR_TYPES = frozenset({str, _NONE})
_PLAIN_RESULT_TYPES = frozenset({str, _NONE})
_AT_TYPES = frozenset({float, int, _NONE})
_FLOAT_ONLY = frozenset({float})
_NONE_ONLY = frozenset({_NONE})
_TUPLE_ONLY = {tuple}
_new_tuple = tuple.__new__
# A required key read in C; a row without one raises KeyError.
_REQUIRED_GETTERS = {key: itemgetter(key) for key in REQUIRED_UPDATE_KEYS}


class UpdateColumns(NamedTuple):
    """Task updates as five equally long columns; make one with `to_update_columns`.

    Row ``i`` is the update ``TaskUpdate(task_ids[i], statuses[i], results[i],
    errors[i], ats[i])``.
    """

    task_ids: tuple[str, ...]
    statuses: tuple[TaskStatus, ...]
    results: tuple[Any, ...]
    errors: tuple[str | None, ...]
    ats: tuple[float | None, ...]

    def task_updates(self) -> list[TaskUpdate]:
        """Return the updates row by row, in order."""
        return [_new_tuple(TaskUpdate, row) for row in zip(*self, strict=True)]


def to_update_columns(
    updates: Iterable[Mapping[str, Any] | TaskUpdate] | UpdateColumns,
    default_at: float | None = None,
) -> UpdateColumns:
    """Validate a batch of task updates and return it as `UpdateColumns`.

    Args:
        updates: Mappings ``{"task_id", "status", optional "result", "error",
            "at"}`` or `TaskUpdate`s, in order; or an `UpdateColumns`, checked
            again (anyone can build one by hand, and it may have crossed a pickle).
        default_at: Epoch seconds to stamp on updates that carry no ``at``
            (the caller's clock reading); None leaves them unstamped.

    Returns:
        The validated columns; statuses are `TaskStatus` members, results are frozen.

    Raises:
        InvalidUpdateError: ``updates`` is not a batch, its columns differ in
            length, or an update is malformed: the first bad update's own
            error, naming its index and task id.
    """
    stamp = epoch_seconds(default_at, "default_at", InvalidUpdateError)
    if isinstance(updates, UpdateColumns):
        columns = _column_tuples(updates)
        checked = _bulk_checked(columns, stamp)
        if checked is not None:
            return checked
        rows: Sequence[Any] = _new_tuple(UpdateColumns, columns).task_updates()
    else:
        rows = update_list(updates)
        kinds = set(map(type, rows))
        if kinds == {ParsedUpdate}:
            # Every row came from parse_update: checked once already, not again.
            return stamped_columns(_new_tuple(UpdateColumns, tuple(zip(*rows, strict=True))), stamp)
        row_columns = _row_columns(rows, kinds)
        checked = None if row_columns is None else _bulk_checked(row_columns, stamp)
        if checked is not None:
            return checked
    return _parsed_columns(rows, stamp)


def stamped_columns(columns: UpdateColumns, stamp: float | None) -> UpdateColumns:
    """Return validated columns with ``stamp`` on the updates that carry no ``at``. O(n)."""
    ats = columns.ats
    if stamp is None or None not in ats:
        return columns
    if ats.count(None) == len(ats):
        return columns._replace(ats=(stamp,) * len(ats))  # the usual batch: built in C
    return columns._replace(ats=tuple(stamp if at is None else at for at in ats))


def update_list(updates: Any) -> list[Any]:
    """Return a batch of updates as a list; a lone update, mapping or string is refused.

    Raises:
        InvalidUpdateError: ``updates`` is not an iterable of updates (field ``updates``).
    """
    return item_list(updates, "updates", InvalidUpdateError, "updates", lone=(TaskUpdate,))


def _column_tuples(columns: UpdateColumns) -> tuple[tuple[Any, ...], ...]:
    """Return the five columns as tuples of one length, or raise naming the bad column."""
    if set(map(type, columns)) == _TUPLE_ONLY and len(set(map(len, columns))) == 1:
        return tuple(columns)  # the wire's form: nothing to convert
    result = []
    for name, column in zip(UpdateColumns._fields, columns, strict=True):
        # A set or a mapping has no order of its own: its rows would pair up at random.
        if isinstance(column, (str, bytes)) or not isinstance(column, Sequence):
            raise InvalidUpdateError(
                f"UpdateColumns.{name} must be a sequence, "
                f"got {type(column).__name__}: {describe(column)}",
                field=name,
                value=column,
            )
        result.append(tuple(column))
    sizes = {name: len(column) for name, column in zip(UpdateColumns._fields, result, strict=True)}
    if len(set(sizes.values())) > 1:
        raise InvalidUpdateError(
            f"UpdateColumns columns must be equally long, got lengths {sizes}",
            field="updates",
            value=sizes,
        )
    return tuple(result)


def _row_columns(rows: list[Any], kinds: set[type]) -> tuple[tuple[Any, ...], ...] | None:
    """Return the columns of a batch of plain dicts with known keys or of `TaskUpdate`s.

    Args:
        rows: The batch.
        kinds: The types of its rows, as ``set(map(type, rows))``.

    Returns:
        The five raw columns, or None for any other batch (parsed item by item).
    """
    if not rows:
        return ((),) * len(UpdateColumns._fields)
    kind = type(rows[0])
    if len(kinds) != 1 or kind not in (dict, TaskUpdate):
        return None
    if kind is TaskUpdate:
        return tuple(zip(*rows, strict=True))
    keys = set().union(*rows)
    if not ALLOWED_UPDATE_KEYS.issuperset(keys):
        return None
    count = len(rows)
    columns = []
    for key in TaskUpdate._fields:
        if key in _REQUIRED_GETTERS:
            try:
                column = tuple(map(_REQUIRED_GETTERS[key], rows))
            except KeyError:  # the row is parsed on its own, which names it
                return None
        elif key in keys:
            column = tuple(map(dict.get, rows, repeat(key, count)))
        else:
            column = (None,) * count  # an optional key no row has, built without reading them
        columns.append(column)
    return tuple(columns)


def _bulk_checked(
    columns: tuple[tuple[Any, ...], ...], stamp: float | None
) -> UpdateColumns | None:
    """Return the validated columns when every value passes the bulk checks, else None.

    None is not an error: the caller parses item by item, which either
    finds the first bad update or accepts a rarer valid form (a str
    subclass, a numpy float) the bulk checks do not know.
    """
    task_ids, statuses, results, errors, ats = columns
    if not _ID_TYPES.issuperset(map(type, task_ids)) or "" in task_ids:
        return None
    parsed_statuses = _bulk_statuses(statuses)
    if parsed_statuses is None:
        return None
    if not _ERROR_TYPES.issuperset(map(type, errors)):
        return None
    checked_ats = _bulk_ats(ats, stamp)
    if checked_ats is None:
        return None
    if not _PLAIN_RESULT_TYPES.issuperset(map(type, results)):
        try:
            results = tuple(r if r is None or type(r) is str else freeze(r) for r in results)
        except StateError:
            return None  # the update-by-update parse names the bad result and its index
    return _new_tuple(UpdateColumns, (task_ids, parsed_statuses, results, errors, checked_ats))


def _bulk_statuses(statuses: tuple[Any, ...]) -> tuple[TaskStatus, ...] | None:
    """Return the statuses as `TaskStatus` members; None when one may be bad."""
    types = set(map(type, statuses))
    if types <= _MEMBER_ONLY:
        # Already TaskStatus members (columns this module built): every member is valid.
        return statuses
    if types == _STR_ONLY and statuses.count(statuses[0]) == len(statuses):
        # One status for the whole batch (a round of completions): looked up once.
        member = STATUS_BY_VALUE.get(statuses[0])
        return None if member is None else (member,) * len(statuses)
    if not _STATUS_TYPES.issuperset(types):
        return None
    parsed = tuple(map(STATUS_BY_VALUE.get, statuses))
    return None if None in parsed else cast(tuple[TaskStatus, ...], parsed)


def _bulk_ats(ats: tuple[Any, ...], stamp: float | None) -> tuple[float | None, ...] | None:
    """Return the timestamps as floats, stamped where missing; None when one may be bad."""
    types = set(map(type, ats))
    if types <= _FLOAT_ONLY:
        # NaN or an infinity anywhere makes the sum non-finite; so can a huge
        # but finite pair, which only sends the batch down the careful path.
        return ats if math.isfinite(sum(ats)) else None
    if types == _NONE_ONLY:
        return ats if stamp is None else (stamp,) * len(ats)
    if not _AT_TYPES.issuperset(types):
        return None
    try:
        numbers = [float(at) for at in ats if at is not None]
    except OverflowError:
        return None
    if not math.isfinite(sum(numbers)):
        return None
    return tuple(stamp if at is None else float(at) for at in ats)


def _parsed_columns(rows: Sequence[Any], stamp: float | None) -> UpdateColumns:
    """Parse the batch update by update: the careful path, and the one that names errors."""
    parsed = []
    for index, raw in enumerate(rows):
        try:
            parsed.append(parse_update(raw))
        except StateError as err:
            raise err.in_batch(index, item_ident(raw, "task_id")) from err
    if not parsed:
        return _new_tuple(UpdateColumns, ((),) * len(UpdateColumns._fields))
    return stamped_columns(_new_tuple(UpdateColumns, tuple(zip(*parsed, strict=True))), stamp)
