"""`UpdateBatch`: a batch of task updates validated and stamped once, which callers cannot forge.

Every path from a report to a job goes through `parse_updates` once: the
batch it returns is trusted by `core.jobs.reducers.apply_task_updates` (no
second check), and anything else is validated there. A batch that crossed a
process boundary (unpickled) is not trusted: the first `parse_updates` or
`apply_task_updates` on the far side checks it once, because the wire can
carry anything. Rows that `core.jobs.task_update.parse_update` returned are
trusted too, so a batcher that parsed each report when it was added never
parses it again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from core.errors import InvalidUpdateError
from core.jobs._columns import UpdateColumns, stamped_columns, to_update_columns
from core.jobs.task_update import TaskUpdate
from core.timestamps import epoch_seconds

__all__ = ["UpdateBatch", "parse_updates"]


class UpdateBatch:
    """Validated, stamped task updates, in order, held as columns; make one with `parse_updates`.

    Iterating gives the updates as `TaskUpdate`s; ``len`` is their number.
    Immutable. It pickles as its columns and arrives untrusted, to be checked
    once on the other side.

    Raises:
        InvalidUpdateError: when called directly (use `parse_updates`).
    """

    __slots__ = ("_checked", "_columns")

    _columns: UpdateColumns
    _checked: bool

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise InvalidUpdateError(
            "an UpdateBatch is made by parse_updates(updates, at), which validates it",
            field="updates",
            value=None,
        )

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"UpdateBatch is immutable: cannot set {name!r}")

    def __len__(self) -> int:
        return len(self._columns.task_ids)

    def __iter__(self) -> Iterator[TaskUpdate]:
        return iter(self._columns.task_updates())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, UpdateBatch):
            return NotImplemented
        return self._columns == other._columns

    def __hash__(self) -> int:
        return hash(self._columns)

    def __repr__(self) -> str:
        return f"UpdateBatch({list(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Five tuples pickle far cheaper than a dict per update; the far side
        # gets an unchecked batch, and checks it once before using it.
        return (_unchecked_batch, (tuple(self._columns),))

    @property
    def task_ids(self) -> tuple[str, ...]:
        """The updates' task ids, in order."""
        return self._columns.task_ids


def _make(columns: UpdateColumns, checked: bool) -> UpdateBatch:
    batch = object.__new__(UpdateBatch)
    object.__setattr__(batch, "_columns", columns)
    object.__setattr__(batch, "_checked", checked)
    return batch


def _unchecked_batch(columns: tuple[Any, ...]) -> UpdateBatch:
    """Rebuild a batch from the wire, marked unchecked (the wire can carry anything)."""
    return _make(tuple.__new__(UpdateColumns, columns), checked=False)


def parse_updates(updates: Any, at: float | None = None) -> UpdateBatch:
    """Validate a batch of task updates once and stamp ``at`` on those without one.

    O(n). The bulk checks run one C-level pass per column; only a batch that
    fails them is parsed update by update, to name the first bad one.

    Args:
        updates: ``{"task_id", "status", optional "result", "error", "at"}`` mappings
            or `TaskUpdate`s, in order; or an `UpdateBatch` (returned as it is
            when checked and nothing needs stamping; checked once when it was unpickled).
        at: Epoch seconds to stamp on updates that carry no ``at``, the
            caller's clock reading; None leaves them unstamped.

    Returns:
        A trusted `UpdateBatch`: statuses are `TaskStatus` members, results frozen.

    Raises:
        InvalidUpdateError: ``updates`` is not a batch, a bad ``at``, or the first
            malformed update's own error, naming its index and task id.
    """
    stamp = epoch_seconds(at, "at", InvalidUpdateError)
    if isinstance(updates, UpdateBatch):
        if updates._checked:
            columns = stamped_columns(updates._columns, stamp)
            return updates if columns is updates._columns else _make(columns, checked=True)
        updates = updates._columns
    return _make(to_update_columns(updates, default_at=stamp), checked=True)


def trusted_columns(updates: Any) -> UpdateColumns | None:
    """Return the columns of a batch `parse_updates` made in this process, else None. O(1)."""
    if type(updates) is UpdateBatch and updates._checked:
        return updates._columns
    return None


def batch_columns(updates: Any) -> UpdateColumns | None:
    """Return the columns of any `UpdateBatch`, checked or not, else None. O(1)."""
    return updates._columns if type(updates) is UpdateBatch else None
