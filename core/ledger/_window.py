"""The store's remembered command ids: exactly the last ``capacity`` applied, oldest first.

Why a structure of its own: a window kept as two generations (the current
one, and the one before it, dropped whole when the current fills) holds
anywhere between ``capacity`` and twice as many ids, so a snapshot, and the
recovery that reads it, doubled once the journal passed ``capacity``
commands. Evicting the oldest id at every command keeps the window, its
snapshot and its recovery the same size however long the journal grows.

A window read from a snapshot keeps the snapshot's rows as ``json.loads``
built them (its *base*: id -> row index, oldest first, and a decoder of one
row) and decodes a row only when it is recalled. Ids remembered since are
appended to a *line*: a plain list of ``(id, value)`` entries and a plain
dict from id to its entry's index, shared by every window of one line of
additions, as a job's task table shares its index (`core.jobs._table`).
A window sees only the entries before its own end (later ones are a later
window's) and after its head (earlier ones are evicted), so adding to the
newest window appends in place, O(1), where a `pyrsistent` map would copy a
path of nodes and touch every child of each. Adding to any other window (a
branch from an older one), or an id the line has seen before (evicted, and
now applied again), starts a line of its own from the live entries,
O(capacity), which a store, that only ever adds new ids to its newest
state, does not do. A line whose dead entries reach ``capacity`` is copied
the same way, once per ``capacity`` additions. Neither the base nor an
entry is changed after it is handed over, so windows share them safely
across threads: a reader only indexes the list and looks up the dict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from itertools import chain, islice
from operator import itemgetter
from typing import Any, TypeVar

from core.errors import InvalidStateError

__all__ = ["ReplyWindow"]

V = TypeVar("V")

_MISSING: Any = object()
_new = object.__new__
_NO_BASE: dict[str, int] = {}


def _no_rows(index: int) -> Any:
    raise LookupError(index)


class _Line:
    """Entries added one after another, shared by the windows of one line of additions.

    Built from a window's live entries in O(n) at C speed.
    """

    __slots__ = ("claims", "entries", "index")

    def __init__(self, entries: list[tuple[str, Any]]) -> None:
        self.entries = entries
        # Id -> its entry's index; an id is never indexed twice in one line.
        self.index = dict(zip(map(itemgetter(0), entries), range(len(entries)), strict=True))
        # Line length -> the one addition allowed to append in place at it.
        self.claims: dict[int, tuple[str, Any]] = {}


class ReplyWindow(Mapping[str, V]):
    """An immutable mapping of the last ``capacity`` ids added, iterated oldest first.

    Args:
        capacity: How many ids it holds at most (at least 1).
        base: Id -> row index, oldest first, as read from a snapshot; owned by
            the window from now on (never changed).
        rows: Decodes the row at an index of ``base``.

    Raises:
        InvalidStateError: ``capacity`` is not a positive int.

    Build an empty one with ``ReplyWindow(capacity)``. Reads are O(1) plus
    the decoding of one row; `add` is O(1) amortized (see the module's note
    for the O(capacity) cases).
    """

    __slots__ = ("_base", "_capacity", "_end", "_head", "_line", "_rows")

    def __init__(
        self,
        capacity: int,
        base: Mapping[str, int] | None = None,
        rows: Callable[[int], V] = _no_rows,
    ) -> None:
        if type(capacity) is not int or capacity < 1:
            raise InvalidStateError(
                f"remember must be a positive int, got {capacity!r}",
                field="remember",
                value=capacity,
            )
        self._capacity = capacity
        self._base: Mapping[str, int] = _NO_BASE if base is None else base
        self._rows = rows
        self._line = _Line([])
        # This window's entries of the line: those before `_end`.
        self._end = 0
        # Entries evicted so far, counted over the base's rows and then the line's.
        self._head = max(0, len(self._base) - capacity)

    @property
    def capacity(self) -> int:
        """How many ids the window holds at most. O(1)."""
        return self._capacity

    @property
    def base(self) -> Mapping[str, int]:
        """The snapshot's ids still read from its rows (some may be evicted). O(1)."""
        return self._base

    @property
    def rows(self) -> Callable[[int], V]:
        """The decoder of the base's rows. O(1)."""
        return self._rows

    @property
    def live_base_rows(self) -> int:
        """Index of the base's oldest row still in the window. O(1)."""
        return min(self._head, len(self._base))

    def _line_start(self) -> int:
        """Index of the line's oldest entry still in the window."""
        return max(0, self._head - len(self._base))

    def recent(self) -> Iterator[tuple[str, V]]:
        """The ids added since the base was read, with their values, oldest first. O(k)."""
        return islice(self._line.entries, self._line_start(), self._end)

    def _find(self, key: Any) -> tuple[bool, int] | None:
        """Where ``key`` lives: ``(True, entry)`` in the line, ``(False, row)`` in the base."""
        at = self._line.index.get(key)
        if at is not None and self._line_start() <= at < self._end:
            return True, at
        index = self._base.get(key)
        if index is None or index < self._head:
            return None
        return False, index

    def get(self, key: str, default: Any = None) -> Any:
        """The value under ``key`` (a base row decoded now), or ``default``. O(1)."""
        found = self._find(key)
        if found is None:
            return default
        in_line, at = found
        return self._line.entries[at][1] if in_line else self._rows(at)

    def __getitem__(self, key: str) -> V:
        found = self.get(key, _MISSING)
        if found is _MISSING:
            raise KeyError(key)
        value: V = found
        return value

    def __contains__(self, key: object) -> bool:
        return self._find(key) is not None

    def __len__(self) -> int:
        return len(self._base) + self._end - self._head

    def __iter__(self) -> Iterator[str]:
        live_base = islice(self._base, self._head, None)
        return chain(live_base, (key for key, _ in self.recent()))

    def __eq__(self, other: object) -> bool:
        """Equal windows hold the same ids and values in the same order: they evict alike."""
        if not isinstance(other, ReplyWindow):
            return NotImplemented
        if self._capacity != other._capacity or len(self) != len(other):
            return False
        return all(a == b for a, b in zip(self.items(), other.items(), strict=True))

    __hash__ = None  # type: ignore[assignment]

    def add(self, key: str, value: V) -> ReplyWindow[V]:
        """Return a copy with ``key`` added as the newest id, the oldest evicted if full.

        ``key`` must not be in the window (a store recalls an id before it
        applies a command). O(1) amortized.
        """
        base, head, line, end = self._base, self._head, self._line, self._end
        # The new entry is this addition's claim: a fresh object no other call holds.
        entry = (key, value)
        if key in line.index or line.claims.setdefault(end, entry) is not entry:
            # A branch, or an id this line indexed before: a line of its own.
            line, head, end = self._fresh_line()
        line.entries.append(entry)
        line.index[key] = end
        end += 1
        if len(base) + end - head > self._capacity:
            head += 1
        if base and head >= len(base):
            # Every base row is evicted: drop the base (and the rows it keeps alive).
            head -= len(base)
            base = _NO_BASE
        new: ReplyWindow[V] = _new(ReplyWindow)
        new._capacity = self._capacity
        new._base = base
        new._rows = self._rows if base else _no_rows
        new._line = line
        new._end = end
        new._head = head
        if not base and head >= self._capacity:
            # As many dead entries as live ones: copy the live ones to a new line.
            new._line, new._head, new._end = new._fresh_line()
        return new

    def _fresh_line(self) -> tuple[_Line, int, int]:
        """A new line holding this window's live entries: ``(line, head, end)``. O(capacity)."""
        start = self._line_start()
        line = _Line(self._line.entries[start : self._end])
        return line, self._head - start, self._end - start

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuild, (self._capacity, list(self.items()))

    def __repr__(self) -> str:
        return f"ReplyWindow({len(self)} of {self._capacity} ids)"


def _rebuild(capacity: int, items: list[tuple[str, Any]]) -> ReplyWindow[Any]:
    """Unpickle a window: its entries added again, oldest first. O(n log n)."""
    window: ReplyWindow[Any] = ReplyWindow(capacity)
    for key, value in items:
        window = window.add(key, value)
    return window
