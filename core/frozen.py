"""What a task's data may hold, checked in one place, and deep-frozen into cheap immutable values.

A task's ``input_data`` and ``result`` are caller data that end up in Ray's
object store and in caches shared across threads: once accepted they must
never change, and a value the library cannot freeze must be refused at the
door, naming the field, before any remote call. `freeze` is that door; every
path that stores caller data (`core.new_task`, a hand-built `core.TaskRecord`,
task updates, the managers, the batcher and the store) goes through it.

What a task's data may hold (*task data*):

- ``None``, ``bool``, ``int`` (any size), ``float`` (NaN and infinities
  included), ``str`` (lone surrogates included), ``bytes`` and
  ``decimal.Decimal`` (except a signalling NaN, which cannot be compared or
  hashed); a subclass of one of these is stored as the plain base value
  (a ``str`` enum member becomes its ``str``);
- ``bytearray``, stored as ``bytes``;
- ``list``, ``tuple`` and ``collections.deque``, stored as tuples;
- ``set`` and ``frozenset``, stored as frozensets;
- any ``Mapping`` (``dict``, its subclasses, ``MappingProxyType``...), stored
  as `FrozenDict`; keys are frozen like values and must stay distinct
  (``str`` keys keep data JSON-like);
- nested at most `MAX_DEPTH` levels deep, which also refuses cyclic values.

Anything else (a lock, a generator, a file, an arbitrary object) is refused,
as is a container whose iteration raises. Freezing is O(size of the value).

Why not ``pyrsistent.freeze``: a task's input is usually a small dict, and a
small ``PMap`` costs about 10 us to rebuild when unpickled. A 10,000-task job
crosses the Ray object store on every ``ray.put``/``ray.get``, so those
rebuilds alone would make a transfer ~8x slower than a plain dict. `FrozenDict`
is a dict whose mutating methods raise: hashable, built and read at C speed,
and it pickles as the plain dict it holds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, NoReturn

from core.errors import InvalidTaskError, StateError, describe

__all__ = ["MAX_DEPTH", "FrozenDict", "freeze", "thaw"]

#: Deepest nesting task data may have (a value inside 64 containers is refused).
#: It also refuses cyclic values, which are infinitely deep.
MAX_DEPTH = 64

_ATOMS = frozenset({type(None), bool, int, float, str, bytes, Decimal})
# Atoms that need no further check: a container of only these is frozen in one C pass.
_PLAIN_ATOMS = _ATOMS - {Decimal}
# Stored as the plain base type: a subclass may carry mutable attributes.
_PLAIN_BASES: tuple[tuple[type, Any], ...] = (
    (str, str.__str__),
    (int, int.__int__),
    (float, float.__float__),
    (bytes, lambda value: bytes(memoryview(value))),
    (Decimal, Decimal),
)
_SEQUENCES = (list, tuple, deque)
_SETS = (set, frozenset)


class FrozenDict(dict[Any, Any]):
    """An immutable, hashable dict; build it with `freeze`, not by hand.

    A dict subclass so that building, comparing, reading and JSON-encoding
    run at C speed; every mutating method raises `TypeError`. One built by
    hand around mutable values is frozen again (copied) by `freeze`.
    """

    __slots__ = ()

    def _immutable(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError(f"{type(self).__name__} is immutable")

    __setitem__ = _immutable
    __delitem__ = _immutable
    __ior__ = _immutable
    clear = _immutable
    pop = _immutable
    popitem = _immutable
    setdefault = _immutable
    update = _immutable

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))

    def __repr__(self) -> str:
        return f"FrozenDict({dict.__repr__(self)})"

    def __reduce__(self) -> tuple[Any, ...]:
        # The values were frozen when first built; rebuild without re-freezing.
        return (FrozenDict, (dict(self),))

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenDict:
        return self


class _Refused(StateError):
    """Internal: why a part of a value cannot be frozen, and where it sits in the value."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.path: list[str] = []


def freeze(value: Any, field: str = "value", error: type[StateError] = InvalidTaskError) -> Any:
    """Return an immutable deep copy of task data, or refuse what a task may not hold.

    See the module docstring for what task data may hold. Already-frozen
    parts are returned as they are, so freezing frozen data allocates nothing.
    O(size of ``value``).

    Args:
        value: Caller data (a task's ``input_data`` or ``result``).
        field: The field it came in, for the error.
        error: The error type the caller's context raises.

    Returns:
        The frozen value (the very same object when it is already frozen).

    Raises:
        StateError: of type ``error``, naming ``field``, the value and, in the
            message, where inside it the offending part sits.
    """
    if type(value) in _ATOMS and not (type(value) is Decimal and value.is_snan()):
        return value
    try:
        return _freeze(value, MAX_DEPTH)
    except _Refused as refused:
        path = refused.path[::-1]
        where = field + "".join(path if len(path) <= 6 else [*path[:6], "..."])
        raise error(
            f"{where} {refused.message} (task data holds None, bool, int, float, str, bytes, "
            f"Decimal and lists, tuples, sets and mappings of them, {MAX_DEPTH} levels deep "
            f"at most)",
            field=field,
            value=value,
        ) from refused.__cause__


def _freeze(value: Any, depth: int) -> Any:
    kind = type(value)
    if kind in _ATOMS:
        if kind is Decimal and value.is_snan():
            raise _Refused("is a signalling NaN Decimal, which cannot be compared or hashed")
        return value
    if depth == 0:
        raise _Refused(f"is nested more than {MAX_DEPTH} levels deep (or is cyclic)")
    if kind is dict or kind is FrozenDict or isinstance(value, Mapping):
        return _freeze_mapping(value, depth - 1)
    if kind is tuple or kind is list:
        if _PLAIN_ATOMS.issuperset(map(type, value)):
            return value if kind is tuple else tuple(value)
        frozen = _freeze_items(value, depth - 1)  # built-in: iterating runs no caller code
        return value if kind is tuple and all(map(_is, frozen, value)) else tuple(frozen)
    if isinstance(value, _SEQUENCES):
        return tuple(_freeze_items(_read(value, list), depth - 1))
    if isinstance(value, _SETS):
        items = _read(value, list)
        frozen = _freeze_items(items, depth - 1)
        if kind is frozenset and all(map(_is, frozen, items)):
            return value
        return frozenset(frozen)
    if isinstance(value, bytearray):
        return bytes(value)
    for base, plain in _PLAIN_BASES:
        if isinstance(value, base):
            return _freeze(_read(value, plain), depth)
    raise _Refused(f"is a {kind.__name__} ({describe(value)}), which task data may not hold")


def _is(a: Any, b: Any) -> bool:
    return a is b


def _read(value: Any, how: Any) -> Any:
    """Return ``how(value)``, turning whatever a hostile container raises into a refusal."""
    try:
        return how(value)
    except Exception as err:
        refused = _Refused(f"(a {type(value).__name__}) could not be read: {describe(err)}")
        raise refused from err


def _freeze_items(items: Any, depth: int) -> list[Any]:
    frozen: list[Any] = []
    append = frozen.append
    for index, item in enumerate(items):
        if type(item) in _PLAIN_ATOMS:
            append(item)
            continue
        try:
            append(_freeze(item, depth))
        except _Refused as refused:
            refused.path.append(f"[{index}]")
            raise
    return frozen


def _items_of(value: Any) -> list[tuple[Any, Any]]:
    return list(value.items())


def _freeze_mapping(value: Any, depth: int) -> Any:
    kind = type(value)
    if kind is dict or kind is FrozenDict:
        if _PLAIN_ATOMS.issuperset(map(type, value.values())) and _PLAIN_ATOMS.issuperset(
            map(type, value)
        ):
            # The common case, a flat dict of plain values: one C pass, no Python loop.
            return value if kind is FrozenDict else FrozenDict(value)
        items = list(value.items())  # built-in: reading runs no caller code
    else:
        items = _read(value, _items_of)
    changed = kind is not FrozenDict
    frozen: dict[Any, Any] = {}
    for key, item in items:
        if type(key) in _PLAIN_ATOMS:
            frozen_key = key
        else:
            try:
                frozen_key = _freeze(key, depth)
            except _Refused as refused:
                refused.path.append(f" key {describe(key)}")
                raise
            changed = changed or frozen_key is not key
        if type(item) in _PLAIN_ATOMS:
            frozen[frozen_key] = item
            continue
        try:
            frozen_item = _freeze(item, depth)
        except _Refused as refused:
            refused.path.append(f"[{describe(key)}]")
            raise
        changed = changed or frozen_item is not item
        frozen[frozen_key] = frozen_item
    if len(frozen) != len(items):
        raise _Refused("has keys that are equal once frozen (e.g. a list and a tuple)")
    return FrozenDict(frozen) if changed else value


def thaw(value: Any) -> Any:
    """Return a plain, mutable deep copy of a frozen value (dicts and lists)."""
    if isinstance(value, FrozenDict):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    if isinstance(value, frozenset):
        return {thaw(v) for v in value}
    return value
