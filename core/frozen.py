"""Deep-freezing of caller data (task inputs and results) into cheap immutable values.

Why not ``pyrsistent.freeze``: a task's input is usually a small dict, and a
small ``PMap`` costs about 10 us to rebuild when unpickled. A 10,000-task job
crosses the Ray object store on every ``ray.put``/``ray.get``, so those
rebuilds alone would make a transfer ~8x slower than a plain dict. `FrozenDict`
is a dict whose mutating methods raise: hashable, built and read at C speed,
and it pickles as the plain dict it holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

__all__ = ["FrozenDict", "freeze", "thaw"]


class FrozenDict(dict[Any, Any]):
    """An immutable, hashable dict; build it with `freeze`, not by hand.

    A dict subclass so that building, comparing, reading and JSON-encoding
    run at C speed; every mutating method raises `TypeError`.
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


def freeze(value: Any) -> Any:
    """Return an immutable deep copy of ``value``.

    Dicts and other mappings become `FrozenDict`, lists and tuples become
    tuples, sets become frozensets; anything else is returned as it is.

    Args:
        value: Caller data, typically JSON-like.

    Returns:
        The frozen value (the same object when it is already immutable).
    """
    if isinstance(value, (str, int, float, bytes, FrozenDict)) or value is None:
        return value
    if isinstance(value, Mapping):
        return FrozenDict({k: freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Return a plain, mutable deep copy of a frozen value (dicts and lists)."""
    if isinstance(value, FrozenDict):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    if isinstance(value, frozenset):
        return {thaw(v) for v in value}
    return value
