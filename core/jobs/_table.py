"""`TaskTable`: a job's tasks, an immutable mapping from task id to record in insertion order.

Records live in a persistent vector in the order they were added. Each task
id's position is found through a persistent index: a vector of small dicts
("shards"), chosen by the id's hash and copied on write, never mutated once
shared. An update replaces records in the vector (a C-level write) and never
touches the index, which changes only when tasks are added.

Why not a pyrsistent map keyed by task id: its reads and writes run in
Python, several times the cost of a shard lookup and a vector write for a
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

# Average ids per shard the index aims for; it doubles its shards (rebuilding,
# O(n), amortised O(1) per task) when the average passes twice this.
_IDS_PER_SHARD = 16
_MIN_SHARDS = 8

Shards = PVector[dict[str, int]]
# TaskRecord.task_id as a C-level getter, for bulk checks over many records.
_TASK_ID = itemgetter(TaskRecord._fields.index("task_id"))


class TaskTable(Mapping[str, TaskRecord]):
    """Tasks keyed by task id, in the order they were added; make one with `empty_task_table`.

    Attributes:
        records: The records, in insertion order.
    """

    __slots__ = ("_mask", "_shards", "records")

    records: PVector[TaskRecord]
    _shards: Shards
    _mask: int

    def __init__(self, records: PVector[TaskRecord], shards: Shards) -> None:
        object.__setattr__(self, "records", records)
        object.__setattr__(self, "_shards", shards)
        object.__setattr__(self, "_mask", len(shards) - 1)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"TaskTable is immutable: cannot set {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        # The index is derived, and str hashes differ between processes: rebuild it.
        return (task_table_from_records, (list(self.records),))

    def position(self, task_id: str) -> int | None:
        """Return the task's position in ``records``, or None when the table has no such task."""
        return self._shards[hash(task_id) & self._mask].get(task_id)

    def __getitem__(self, task_id: str) -> TaskRecord:
        position = self._shards[hash(task_id) & self._mask].get(task_id)
        if position is None:
            raise KeyError(task_id)
        return self.records[position]

    @overload
    def get(self, task_id: str) -> TaskRecord | None: ...

    @overload
    def get(self, task_id: str, default: TaskRecord | Any) -> TaskRecord | Any: ...

    def get(self, task_id: str, default: Any = None) -> Any:
        """Return the task with this id, or ``default``."""
        position = self._shards[hash(task_id) & self._mask].get(task_id)
        return default if position is None else self.records[position]

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._shards[hash(task_id) & self._mask]

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
        """Return the table with new records after the existing ones (ids not checked)."""
        added = list(records)
        all_records = self.records.extend(added)
        if len(all_records) > 2 * _IDS_PER_SHARD * len(self._shards):
            return TaskTable(all_records, _build_shards(all_records))
        mask = self._mask
        copied: dict[int, dict[str, int]] = {}
        for position, record in enumerate(added, start=len(self.records)):
            index = hash(record.task_id) & mask
            shard = copied.get(index)
            if shard is None:
                # Copy on write: the old table still shares the original shard.
                shard = copied[index] = dict(self._shards[index])
            shard[record.task_id] = position
        shards = self._shards.evolver()
        for index, shard in copied.items():
            shards[index] = shard
        return TaskTable(all_records, shards.persistent())


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
        # Chained map()s keep the per-id work in C: hash, shard, dict lookup.
        shards = map(table._shards.__getitem__, map(table._mask.__and__, map(hash, task_ids)))
        positions: list[int | None] = list(map(dict.get, shards, task_ids))
        self._ids, self._positions = task_ids, positions
        records = table.records
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
        return TaskTable(vector.persistent(), table._shards)


def _build_shards(records: Sequence[TaskRecord]) -> Shards:
    """Return a fresh index for records with distinct task ids."""
    count = _MIN_SHARDS
    while count * _IDS_PER_SHARD < len(records):
        count *= 2
    mask = count - 1
    shards: list[dict[str, int]] = [{} for _ in range(count)]
    for position, record in enumerate(records):
        task_id = record.task_id
        shards[hash(task_id) & mask][task_id] = position
    return pvector(shards)


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


_EMPTY = TaskTable(pvector(), _build_shards(()))


def empty_task_table() -> TaskTable:
    """Return a table with no tasks."""
    return _EMPTY


def task_table_from_records(records: Sequence[TaskRecord]) -> TaskTable:
    """Return a table of records with distinct task ids, in the given order (ids not checked)."""
    if not records:
        return _EMPTY
    return TaskTable(pvector(records), _build_shards(records))
