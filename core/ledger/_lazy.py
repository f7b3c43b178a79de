"""A mapping whose entries read from a snapshot stay encoded until one is read.

A store's closed jobs' final summaries and every job's version grow with the
journal for ever (its remembered replies up to their window, which has a
structure of its own: `core.ledger._window`). Rebuilding each
entry as a Python value (and a `pyrsistent` map of them) made recovery grow
with them. A `LazyMap` instead keeps what ``json.loads`` built at C speed
when the snapshot was read, its *base* (a plain dict from key to the
entry's encoded form), and decodes an entry only when it is read. Entries
set after the snapshot live in a `pyrsistent` map on top of it, and shadow
the base. Recovery so costs one C-level parse and index of the snapshot,
and a read costs the decoding of one entry.

A `LazyMap` is immutable like the `PMap` it stands for: `set` returns a new
one sharing the rest, and the base dict is never changed after it is handed
over (its only owner is the map), so states share it safely across threads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from itertools import chain
from typing import Any, TypeVar

from pyrsistent import pmap
from pyrsistent.typing import PMap

__all__ = ["LazyMap", "as_is"]

V = TypeVar("V")

_MISSING: Any = object()
_new = object.__new__
_EMPTY_BASE: dict[str, Any] = {}


def as_is(raw: Any) -> Any:
    """The decoder of a base whose entries are already the values (job versions)."""
    return raw


class LazyMap(Mapping[str, V]):
    """An immutable mapping of str keys: a base decoded entry by entry, plus entries set since.

    Args:
        base: Key -> encoded entry; owned by the map from now on (never changed).
        decode: Turns an encoded entry into its value; called at each read of it.
        added: Entries set since the base was read; they shadow it.
        size: ``len`` of the whole (given by `set`; computed when omitted).

    Reads are O(1) dict and O(log n) `PMap` look-ups plus one decoding; `set`
    is O(log n); building one over a base is O(1).
    """

    __slots__ = ("_added", "_base", "_decode", "_size")

    def __init__(
        self,
        base: Mapping[str, Any] | None = None,
        decode: Callable[[Any], V] = as_is,
        added: PMap[str, V] | None = None,
        size: int | None = None,
    ) -> None:
        self._base: Mapping[str, Any] = _EMPTY_BASE if base is None else base
        self._decode = decode
        self._added: PMap[str, V] = pmap() if added is None else added
        if size is None:
            size = len(self._base) + sum(1 for key in self._added if key not in self._base)
        self._size = size

    @property
    def base(self) -> Mapping[str, Any]:
        """The encoded entries the map was built over (to write them again unchanged). O(1)."""
        return self._base

    @property
    def decoder(self) -> Callable[[Any], V]:
        """The function that decodes an entry of `base`. O(1)."""
        return self._decode

    @property
    def added(self) -> PMap[str, V]:
        """The entries set since the base was read, decoded. O(1)."""
        return self._added

    @property
    def shadowed(self) -> bool:
        """True when an added entry replaced one of the base. O(1)."""
        return len(self._base) + len(self._added) != self._size

    def get(self, key: str, default: Any = None) -> Any:
        """The value under ``key`` (decoded now if it is in the base), or ``default``. O(log n)."""
        found = self._added.get(key, _MISSING)
        if found is not _MISSING:
            return found
        raw = self._base.get(key, _MISSING)
        return default if raw is _MISSING else self._decode(raw)

    def __getitem__(self, key: str) -> V:
        found = self._added.get(key, _MISSING)
        if found is not _MISSING:
            value: V = found
            return value
        raw = self._base.get(key, _MISSING)
        if raw is _MISSING:
            raise KeyError(key)
        decoded: V = self._decode(raw)
        return decoded

    def __contains__(self, key: object) -> bool:
        return key in self._added or key in self._base

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[str]:
        if not self._added:
            return iter(self._base)
        added = self._added
        return chain(added, (key for key in self._base if key not in added))

    def set(self, key: str, value: V) -> LazyMap[V]:
        """Return a copy with ``key`` set to ``value``; the base is shared. O(log n)."""
        # Every command sets an entry or two: built without __init__'s defaults.
        added = self._added
        new: LazyMap[V] = _new(LazyMap)
        new._base = base = self._base
        new._decode = self._decode
        new._added = added.set(key, value)
        new._size = self._size if key in added or key in base else self._size + 1
        return new

    def encoded(self, encode: Callable[[V], Any]) -> dict[str, Any]:
        """Every entry encoded: the base's as read (not encoded again), the added by ``encode``.

        Only for a map whose base holds exactly what ``encode`` makes of a value
        (a closed job's summary, a version). O(n) at C speed plus O(added) calls.
        """
        if not self._added:
            return dict(self._base)
        return {**self._base, **{key: encode(value) for key, value in self._added.items()}}

    def __reduce__(self) -> tuple[Any, ...]:
        return LazyMap, (self._base, self._decode, self._added, self._size)

    def __repr__(self) -> str:
        return f"LazyMap({len(self._base)} read from a snapshot, {len(self._added)} set since)"
