"""The store's remembered command ids: exactly the last ``capacity`` applied, oldest first.

Why a structure of its own: a window kept as two generations (the current
one, and the one before it, dropped whole when the current fills) holds
anywhere between ``capacity`` and twice as many ids, so a snapshot, and the
recovery that reads it, doubled once the journal passed ``capacity``
commands. Evicting the oldest id at every command keeps the window, its
snapshot and its recovery the same size however long the journal grows.

A window read from a snapshot keeps the snapshot's rows as ``json.loads``
built them (its *base*: id -> row index, oldest first, and a decoder of one
row) and decodes a row only when it is recalled. Ids remembered since live
in a `pyrsistent` map, with their order in a vector. Evicting the oldest id
is O(1) for a base row (the row is dead once ``head`` passes its index, and
the base is dropped whole when ``head`` passes its end) and O(log n) for a
later one. The base is never changed after it is handed over, so windows
share it safely across threads, as they share the persistent parts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from itertools import chain, islice
from typing import Any, TypeVar

from pyrsistent import pmap, pvector
from pyrsistent.typing import PMap, PVector

from core.errors import InvalidStateError

__all__ = ["ReplyWindow"]

V = TypeVar("V")

_MISSING: Any = object()
_new = object.__new__
_NO_BASE: dict[str, int] = {}


def _no_rows(index: int) -> Any:
    raise LookupError(index)


class ReplyWindow(Mapping[str, V]):
    """An immutable mapping of the last ``capacity`` ids added, iterated oldest first.

    Args:
        capacity: How many ids it holds at most (at least 1).
        base: Id -> row index, oldest first, as read from a snapshot; owned by
            the window from now on (never changed).
        rows: Decodes the row at an index of ``base``.

    Raises:
        InvalidStateError: ``capacity`` is not a positive int.

    Build an empty one with ``ReplyWindow(capacity)``. Reads are O(log n) plus
    the decoding of one row; `add` is O(log n) (amortized: a vector of ids is
    trimmed once per ``capacity`` additions).
    """

    __slots__ = ("_base", "_capacity", "_head", "_order", "_recent", "_rows")

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
        self._recent: PMap[str, V] = pmap()
        self._order: PVector[str] = pvector()
        # Entries evicted so far, counted over the base's rows and then `_order`.
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

    def recent(self) -> Iterator[tuple[str, V]]:
        """The ids added since the base was read, with their values, oldest first. O(k)."""
        recent = self._recent
        start = max(0, self._head - len(self._base))
        return ((key, recent[key]) for key in islice(self._order, start, None))

    def get(self, key: str, default: Any = None) -> Any:
        """The value under ``key`` (a base row decoded now), or ``default``. O(log n)."""
        found = self._recent.get(key, _MISSING)
        if found is not _MISSING:
            return found
        index = self._base.get(key)
        if index is None or index < self._head:
            return default
        return self._rows(index)

    def __getitem__(self, key: str) -> V:
        found = self.get(key, _MISSING)
        if found is _MISSING:
            raise KeyError(key)
        value: V = found
        return value

    def __contains__(self, key: object) -> bool:
        if key in self._recent:
            return True
        index = self._base.get(key)  # type: ignore[call-overload]
        return index is not None and index >= self._head

    def __len__(self) -> int:
        return len(self._base) + len(self._order) - self._head

    def __iter__(self) -> Iterator[str]:
        live_base = islice(self._base, self._head, None)
        start = max(0, self._head - len(self._base))
        return chain(live_base, islice(self._order, start, None))

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
        applies a command). O(log n), amortized.
        """
        base, head = self._base, self._head
        recent = self._recent.set(key, value)
        order = self._order.append(key)
        if len(base) + len(order) - head > self._capacity:
            if head >= len(base):
                recent = recent.remove(order[head - len(base)])
            head += 1
        if base and head >= len(base):
            # Every base row is evicted: drop the base (and the rows it keeps alive).
            head -= len(base)
            base = _NO_BASE
        if not base and head > self._capacity:
            # Trim the evicted ids off the vector, once per `capacity` additions.
            order = pvector(order[head:])
            head = 0
        new: ReplyWindow[V] = _new(ReplyWindow)
        new._capacity = self._capacity
        new._base = base
        new._rows = self._rows if base else _no_rows
        new._recent = recent
        new._order = order
        new._head = head
        return new

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
