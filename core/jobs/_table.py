"""`TaskTable`: a job's tasks, an immutable mapping from task id to record in insertion order.

Records live in a persistent vector in the order they were added. Each task
id's position is found through one plain dict, shared by every table of one
line of appends: tasks are only ever appended, so a position never changes,
and a table ignores the positions at or past its own length (the tasks a
later version added). Appending to the newest table of a line extends the
shared dict in place; appending to any other (a branch from an older
version) builds a dict of its own from its records, O(n), which a store,
that only ever appends to its newest version, never does. An update
replaces records in the vector (a C-level write) and never touches the index.

Why not a pyrsistent map keyed by task id: its reads and writes run in
Python, several times the cost of a dict lookup and a vector write for a
batch of updates (the figures are in docs/performance.md).
"""

from __future__ import annotations

from collections import deque
from collections.abc import (
    ItemsView,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
    ValuesView,
)
from operator import itemgetter
from typing import Any, overload

from pyrsistent import pvector
from pyrsistent.typing import PVector

from core.errors import InvalidTaskError
from core.jobs.task import TaskRecord

__all__ = ["TaskTable", "TaskTableEvolver", "empty_task_table", "task_table_from_records"]

# TaskRecord.task_id as a C-level getter, for bulk checks over many records.
_TASK_ID = itemgetter(TaskRecord._fields.index("task_id"))


class TaskTable(Mapping[str, TaskRecord]):
    """Tasks keyed by task id, in the order they were added; make one with `empty_task_table`.

    Attributes:
        records: The records, in insertion order.
    """

    __slots__ = ("_claims", "_positions", "records")

    records: PVector[TaskRecord]
    # Task id -> position, shared along a line of appends; entries at or past
    # len(records) belong to later tables and are ignored here.
    _positions: dict[str, int]
    # Table length -> the one append allowed to extend `_positions` in place from it.
    _claims: dict[int, object]

    def __init__(
        self, records: PVector[TaskRecord], positions: dict[str, int], claims: dict[int, object]
    ) -> None:
        object.__setattr__(self, "records", records)
        object.__setattr__(self, "_positions", positions)
        object.__setattr__(self, "_claims", claims)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"TaskTable is immutable: cannot set {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        # The index is derived, and str hashes differ between processes: rebuild it.
        return (task_table_from_records, (list(self.records),))

    def position(self, task_id: str) -> int | None:
        """Return the task's position in ``records``, or None when it has no such task. O(1)."""
        position = self._positions.get(task_id)
        if position is None or position >= len(self.records):
            return None
        return position

    def __getitem__(self, task_id: str) -> TaskRecord:
        position = self.position(task_id)
        if position is None:
            raise KeyError(task_id)
        return self.records[position]

    @overload
    def get(self, task_id: str) -> TaskRecord | None: ...

    @overload
    def get(self, task_id: str, default: TaskRecord | Any) -> TaskRecord | Any: ...

    def get(self, task_id: str, default: Any = None) -> Any:
        """Return the task with this id, or ``default``."""
        position = self.position(task_id)
        return default if position is None else self.records[position]

    def __contains__(self, task_id: object) -> bool:
        return self.position(task_id) is not None  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[str]:
        return (record.task_id for record in self.records)

    def __len__(self) -> int:
        return len(self.records)

    def values(self) -> ValuesView[TaskRecord]:
        """The records in insertion order (read straight from the vector)."""
        return _RecordsView(self)

    def items(self) -> ItemsView[str, TaskRecord]:
        """``(task_id, record)`` pairs in insertion order."""
        return _RecordItemsView(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TaskTable):
            return self.records == other.records
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.records)

    def __repr__(self) -> str:
        return f"TaskTable({list(self.records)!r})"

    def evolver(self) -> TaskTableEvolver:
        """Return a draft of this table whose records can be replaced by task id. O(1)."""
        return TaskTableEvolver(self)

    def appended(self, records: Iterable[TaskRecord]) -> TaskTable:
        """Return the table with new records after the existing ones (ids not checked).

        O(added) when this is the newest table of its line, O(n) for a branch
        from an older one (it indexes its own records).
        """
        added = list(records)
        size = len(self.records)
        all_records = self.records.extend(added)
        # setdefault is one atomic step: of several appends from one table
        # (even in other threads) exactly one extends the shared dict in place.
        claim = object()
        if size and self._claims.setdefault(size, claim) is claim:
            positions, claims = self._positions, self._claims
        else:
            positions, claims = _index(self.records), {}
        positions.update(zip(map(_TASK_ID, added), range(size, size + len(added)), strict=True))
        return TaskTable(all_records, positions, claims)


class TaskTableEvolver:
    """A draft of a `TaskTable` keyed by task id: read a batch's records, write them back.

    `get_many` reads the records of a batch of task ids; `set_many` gives the
    new records for those same ids, in the same order; `persistent` returns
    the new table. The draft finds positions itself, so a reducer never sees
    one. The original table never changes.
    """

    __slots__ = ("_ids", "_positions", "_records", "_table")

    def __init__(self, table: TaskTable) -> None:
        self._table = table
        self._ids: Sequence[str] = ()
        self._positions: list[int | None] = []
        self._records: Sequence[TaskRecord] | None = None

    def get_many(self, task_ids: Sequence[str]) -> list[TaskRecord | None]:
        """Return the record of each id, in order (None for an unknown id). O(1) per id."""
        table = self._table
        records = table.records
        # map() keeps the per-id lookup in C.
        positions: list[int | None] = list(map(table._positions.get, task_ids))
        if None in positions or (positions and max(positions) >= len(records)):  # type: ignore[type-var,operator]
            positions = list(map(table.position, task_ids))
        self._ids, self._positions = task_ids, positions
        if None not in positions:
            return list(map(records.__getitem__, positions))  # type: ignore[arg-type]
        return [None if position is None else records[position] for position in positions]

    def set_many(self, records: Sequence[TaskRecord]) -> None:
        """Give the new record of every id `get_many` read, in its order; O(1).

        An id read twice takes its last record. Checked by `persistent`.
        """
        self._records = records

    def persistent(self) -> TaskTable:
        """Return the table with the records `set_many` gave; the original when none. O(batch).

        Raises:
            InvalidTaskError: an id was unknown, a record is not for its id,
                or the records do not match the ids read.
        """
        records = self._records
        if records is None:
            return self._table
        positions, ids = self._positions, self._ids
        # Bulk checks in C: every id is the table's, and every record sits under its own id.
        if None in positions or list(map(_TASK_ID, records)) != list(ids):
            raise InvalidTaskError(
                "a draft can only replace the tasks it read, each with a record for its own id",
                field="task_id",
                value=next(
                    (
                        i
                        for i, p, r in zip(ids, positions, records, strict=False)
                        if p is None or _TASK_ID(r) != i
                    ),
                    None,
                ),
            )
        table = self._table
        vector = table.records.evolver()
        # map() drives the C-level setitem without a Python loop; the result is discarded.
        deque(map(vector.__setitem__, positions, records), maxlen=0)  # type: ignore[arg-type]
        return TaskTable(vector.persistent(), table._positions, table._claims)


def _index(records: Sequence[TaskRecord]) -> dict[str, int]:
    """Return a fresh position index of records with distinct task ids; O(n) in C."""
    return dict(zip(map(_TASK_ID, records), range(len(records)), strict=True))


class _RecordsView(ValuesView[TaskRecord]):
    __slots__ = ("_table",)

    def __init__(self, table: TaskTable) -> None:
        super().__init__(table)
        self._table = table

    def __iter__(self) -> Iterator[TaskRecord]:
        return iter(self._table.records)


class _RecordItemsView(ItemsView[str, TaskRecord]):
    __slots__ = ("_table",)

    def __init__(self, table: TaskTable) -> None:
        super().__init__(table)
        self._table = table

    def __iter__(self) -> Iterator[tuple[str, TaskRecord]]:
        return ((record.task_id, record) for record in self._table.records)


# Shared by every new job: its empty index is never extended in place (the
# first append of any table of no tasks indexes its own records).
_EMPTY = TaskTable(pvector(), {}, {})


def empty_task_table() -> TaskTable:
    """Return a table with no tasks."""
    return _EMPTY


def task_table_from_records(records: Sequence[TaskRecord]) -> TaskTable:
    """Return a table of records with distinct task ids, in the given order (ids not checked)."""
    if not records:
        return _EMPTY
    return TaskTable(pvector(records), _index(records), {})
