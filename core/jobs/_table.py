"""`TaskTable`: a job's tasks, an immutable mapping from task id to record in insertion order.

The tasks are held column by column: one persistent vector per `TaskRecord`
field, all of one length, row ``i`` being the ``i``-th task added. A batch of
updates then writes the few fields it changes for its rows, each at C speed
(`TaskTableEvolver.write`), instead of rebuilding a record per update in
Python, and a record is built only when one is read. Each task id's position
is found through one plain dict, shared by every table of one line of
appends: tasks are only ever appended, so a position never changes, and a
table ignores the positions at or past its own length (the tasks a later
version added). Appending to the newest table of a line extends the shared
dict in place; appending to any other (a branch from an older version)
builds a dict of its own from its ids, O(n), which a store, that only ever
appends to its newest version, never does.

Why not a pyrsistent map keyed by task id: its reads and writes run in
Python, several times the cost of a dict lookup and a vector write for a
batch of updates (the figures are in docs/performance.md).
"""

from __future__ import annotations

from collections.abc import (
    ItemsView,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
    ValuesView,
)
from itertools import compress, repeat
from operator import itemgetter
from typing import Any, cast, overload

from pyrsistent import pvector
from pyrsistent.typing import PVector

from core.errors import InvalidTaskError, describe
from core.jobs.task import TaskRecord

__all__ = [
    "WRITABLE_FIELDS",
    "TaskTable",
    "TaskTableEvolver",
    "empty_task_table",
    "task_table_from_columns",
    "task_table_from_records",
]

_FIELDS = TaskRecord._fields
_FIELD_INDEX = {name: index for index, name in enumerate(_FIELDS)}
_ID = _FIELD_INDEX["task_id"]
#: The fields an update may change; the others are fixed when a task is added.
WRITABLE_FIELDS = frozenset({"status", "result", "error", "started_at", "completed_at"})
_new_tuple = tuple.__new__
# Values a draft writes as they are (no copy): their length is exact and they are read once.
_SEQUENCES = (list, tuple)


class TaskTable(Mapping[str, TaskRecord]):
    """Tasks keyed by task id, in the order they were added; make one with `empty_task_table`.

    Attributes:
        columns: One persistent vector per `TaskRecord` field, in field order.
    """

    __slots__ = ("_claims", "_positions", "columns")

    columns: tuple[PVector[Any], ...]
    # Task id -> position, shared along a line of appends; entries at or past
    # len(self) belong to later tables and are ignored here.
    _positions: dict[str, int]
    # Table length -> the one append allowed to extend `_positions` in place from it.
    _claims: dict[int, object]

    def __init__(
        self,
        columns: tuple[PVector[Any], ...],
        positions: dict[str, int],
        claims: dict[int, object],
    ) -> None:
        object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "_positions", positions)
        object.__setattr__(self, "_claims", claims)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"TaskTable is immutable: cannot set {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        # The index is derived, and str hashes differ between processes: rebuild it.
        return (task_table_from_columns, (list(map(list, self.columns)),))

    @property
    def records(self) -> tuple[TaskRecord, ...]:
        """Every record, in insertion order, built now. O(n) at C speed."""
        return tuple(self._iter_records())

    def position(self, task_id: str) -> int | None:
        """Return the task's row, or None when it has no such task. O(1)."""
        position = self._positions.get(task_id)
        if position is None or position >= len(self.columns[_ID]):
            return None
        return position

    def _record(self, position: int) -> TaskRecord:
        return _new_tuple(TaskRecord, [column[position] for column in self.columns])

    def __getitem__(self, task_id: str) -> TaskRecord:
        position = self.position(task_id)
        if position is None:
            raise KeyError(task_id)
        return self._record(position)

    @overload
    def get(self, task_id: str) -> TaskRecord | None: ...

    @overload
    def get(self, task_id: str, default: TaskRecord | Any) -> TaskRecord | Any: ...

    def get(self, task_id: str, default: Any = None) -> Any:
        """Return the task with this id, or ``default``. O(1)."""
        position = self.position(task_id)
        return default if position is None else self._record(position)

    def __contains__(self, task_id: object) -> bool:
        return self.position(task_id) is not None  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[str]:
        return iter(self.columns[_ID])

    def __len__(self) -> int:
        return len(self.columns[_ID])

    def values(self) -> ValuesView[TaskRecord]:
        """The records in insertion order, each built as it is reached."""
        return _RecordsView(self)

    def items(self) -> ItemsView[str, TaskRecord]:
        """``(task_id, record)`` pairs in insertion order."""
        return _RecordItemsView(self)

    def _iter_records(self) -> Iterator[TaskRecord]:
        return map(_new_tuple, repeat(TaskRecord), zip(*self.columns, strict=True))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TaskTable):
            return self.columns == other.columns
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.columns)

    def __repr__(self) -> str:
        return f"TaskTable({list(self._iter_records())!r})"

    def evolver(self) -> TaskTableEvolver:
        """Return a draft of this table whose fields can be written by task id. O(1)."""
        return TaskTableEvolver(self)

    def appended(self, records: Iterable[TaskRecord]) -> TaskTable:
        """Return the table with new records after the existing ones (ids not checked).

        O(added) when this is the newest table of its line, O(n) for a branch
        from an older one (it indexes its own records).
        """
        added = list(records)
        if not added:
            return self
        size = len(self)
        columns = tuple(
            column.extend(new)
            for column, new in zip(self.columns, zip(*added, strict=True), strict=True)
        )
        # setdefault is one atomic step: of several appends from one table
        # (even in other threads) exactly one extends the shared dict in place.
        claim = object()
        if size and self._claims.setdefault(size, claim) is claim:
            positions, claims = self._positions, self._claims
        else:
            positions, claims = _index(self.columns[_ID]), {}
        new_ids = columns[_ID][size:]
        positions.update(zip(new_ids, range(size, size + len(added)), strict=True))
        return TaskTable(columns, positions, claims)


class TaskTableEvolver:
    """A draft of a `TaskTable` keyed by task id: select a batch's rows, read and write fields.

    `select` picks the rows of a batch of task ids (in the batch's order,
    repeats included), and `narrow` keeps some of them; `read` gives a field
    of those rows as the table had it; `write` sets a field of those rows (or
    of the rows a mask keeps), in order, so a task selected twice takes its
    last value; `persistent` returns the new table. The draft finds positions
    itself, so a reducer never sees one. Only `WRITABLE_FIELDS` can be
    written. The original table never changes.
    """

    __slots__ = ("_missing", "_positions", "_table", "_written")

    def __init__(self, table: TaskTable) -> None:
        self._table = table
        self._positions: list[int | None] = []
        self._missing: int | None = None
        self._written: dict[int, PVector[Any]] = {}

    def select(self, task_ids: Sequence[str]) -> int | None:
        """Select the rows of ``task_ids``; return the index of the first unknown id, else None.

        O(1) per id.
        """
        table = self._table
        try:
            positions: list[int | None] = list(_items(table._positions, task_ids))
        except KeyError:  # an unknown id
            pass
        else:
            if not _past(positions, len(table), len(table._positions)):
                return self._hold(positions, whole=True)
        # An unknown id, or a later table's: found one by one, None where unknown.
        return self._hold(list(map(table.position, task_ids)))

    def narrow(self, keep: Iterable[Any]) -> None:
        """Keep selected only the rows ``keep`` keeps (a truth value per selected row). O(k)."""
        self._hold(list(compress(self._positions, keep)), whole=self._missing is None)

    def _hold(self, positions: list[int | None], whole: bool = False) -> int | None:
        """Make ``positions`` the selection; return the index of its first unknown row.

        ``whole`` says every row is known, so they are not searched for a None.
        """
        self._positions = positions
        self._missing = None if whole or None not in positions else positions.index(None)
        return self._missing

    def read(self, field: str) -> list[Any]:
        """Return ``field`` of the selected rows, as the table has it (None: unknown id). O(k)."""
        column = self._table.columns[_FIELD_INDEX[field]]
        if self._missing is None:
            return list(_items(column, self._positions))
        return [None if position is None else column[position] for position in self._positions]

    def write(self, field: str, values: Iterable[Any], keep: Iterable[Any] | None = None) -> None:
        """Set ``field`` of the selected rows to ``values``, in order; O(k).

        Args:
            field: One of `WRITABLE_FIELDS`.
            values: One value per selected row.
            keep: One truth value per selected row: only the rows it keeps are
                written (None writes every row).

        Raises:
            InvalidTaskError: ``field`` cannot be written, a written row's id is
                unknown, or ``values`` does not hold one value per selected row.
        """
        if field not in WRITABLE_FIELDS:
            raise InvalidTaskError(
                f"a draft can only write {sorted(WRITABLE_FIELDS)}, not {describe(field)}",
                field="field",
                value=field,
            )
        rows: list[int | None] = self._positions
        written: Sequence[Any] = values if isinstance(values, _SEQUENCES) else list(values)
        if len(written) != len(rows):
            raise InvalidTaskError(
                f"a draft writes one value per selected row: {len(rows)} rows, "
                f"{len(written)} values for {field!r}",
                field="values",
                value=len(written),
            )
        if keep is not None:
            keep = list(keep)  # read twice: once for the rows, once for the values
            rows, written = list(compress(rows, keep)), list(compress(written, keep))
        if self._missing is not None and None in rows:
            raise InvalidTaskError(
                "a draft can only write the rows of ids the table has",
                field="task_id",
                value=None,
            )
        if not rows:
            return
        index = _FIELD_INDEX[field]
        column = self._written.get(index, self._table.columns[index])
        # One C call sets every row, a later row's value winning: mset takes
        # (index, value) pairs interleaved as its arguments.
        pairs: list[Any] = [None] * (2 * len(rows))
        pairs[::2] = rows
        pairs[1::2] = written
        self._written[index] = column.mset(*pairs)

    def persistent(self) -> TaskTable:
        """Return the table with the fields written so far; the original when none. O(written)."""
        if not self._written:
            return self._table
        table = self._table
        columns = list(table.columns)
        for index, column in self._written.items():
            columns[index] = column
        return TaskTable(tuple(columns), table._positions, table._claims)


def _past(positions: list[int | None], size: int, indexed: int) -> bool:
    """True when a position of found ids may lie past ``size`` (a later table's task). O(k)."""
    # An index holding exactly ``size`` ids has no position past the end: no max to take.
    return indexed != size and bool(positions) and max(cast(list[int], positions)) >= size


def _items(container: Any, keys: Sequence[Any]) -> tuple[Any, ...]:
    """Return ``container[key]`` for each key, in order, in one C call (itemgetter). O(k)."""
    if len(keys) > 1:
        found: tuple[Any, ...] = itemgetter(*keys)(container)
        return found
    return tuple(container[key] for key in keys)  # itemgetter of one key gives no tuple


def _index(ids: Sequence[str]) -> dict[str, int]:
    """Return a fresh position index of distinct task ids; O(n) in C."""
    return dict(zip(ids, range(len(ids)), strict=True))


class _RecordsView(ValuesView[TaskRecord]):
    __slots__ = ("_table",)

    def __init__(self, table: TaskTable) -> None:
        super().__init__(table)
        self._table = table

    def __iter__(self) -> Iterator[TaskRecord]:
        return self._table._iter_records()


class _RecordItemsView(ItemsView[str, TaskRecord]):
    __slots__ = ("_table",)

    def __init__(self, table: TaskTable) -> None:
        super().__init__(table)
        self._table = table

    def __iter__(self) -> Iterator[tuple[str, TaskRecord]]:
        return zip(self._table.columns[_ID], self._table._iter_records(), strict=True)


# Shared by every new job: its empty index is never extended in place (the
# first append of any table of no tasks indexes its own records).
_EMPTY = TaskTable(tuple(pvector() for _ in _FIELDS), {}, {})


def empty_task_table() -> TaskTable:
    """Return a table with no tasks."""
    return _EMPTY


def task_table_from_records(records: Sequence[TaskRecord]) -> TaskTable:
    """Return a table of records with distinct task ids, in the given order (ids not checked)."""
    if not records:
        return _EMPTY
    return task_table_from_columns(list(zip(*records, strict=True)))


def task_table_from_columns(columns: Sequence[Sequence[Any]]) -> TaskTable:
    """Return a table of the tasks whose fields are ``columns``, one per `TaskRecord` field.

    Distinct task ids and equally long columns are not checked. O(n) at C speed.
    """
    if not columns or not columns[_ID]:
        return _EMPTY
    vectors = tuple(map(pvector, columns))
    return TaskTable(vectors, _index(vectors[_ID]), {})
