"""Hostile values for the fuzz tests: what an adversarial caller can pass to any public function.

Wrong types, None, huge and deep values, lone surrogates, NaN and
huge-exponent decimals, generators that raise midway, objects whose
``__repr__`` raises, dict subclasses that cannot be read, mappings with
unhashable keys, locks. `maybe_hostile` mixes them with a valid strategy so
that a call is sometimes well-formed and often not, and `fresh` rebuilds the
one-shot values (generators) for each draw.

The module also holds the checks every fuzzed call shares: `call_refused_or_done`
(a call either returns or raises a `StateError`) and `held_data_is_frozen`
(what a returned job holds can never change).
"""

from __future__ import annotations

import pickle
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from core import FrozenDict, JobExecution, StateError, TaskStatus, freeze

__all__ = [
    "EXTREME_AMOUNTS",
    "HOSTILE_SCALARS",
    "RaisingItemsDict",
    "RaisingRepr",
    "UnhashableKeyMapping",
    "call_refused_or_done",
    "edge_amounts",
    "held_data_is_frozen",
    "hostile_batches",
    "hostile_mappings",
    "hostile_values",
    "maybe_hostile",
    "raising_generator",
    "snapshot",
]


class RaisingRepr:
    """An object whose ``__repr__`` and ``__str__`` raise."""

    def __repr__(self) -> str:
        raise RuntimeError("this repr raises")

    __str__ = __repr__


class RaisingReprStr(str):
    """A str (it passes ``isinstance(x, str)``) whose ``__repr__`` raises."""

    __slots__ = ()

    def __repr__(self) -> str:
        raise RuntimeError("this str's repr raises")


class RaisingItemsDict(dict[Any, Any]):
    """A dict subclass whose reading methods raise: only its C-level storage is sane."""

    def items(self) -> Any:
        raise RuntimeError("items() raises")

    def keys(self) -> Any:
        raise RuntimeError("keys() raises")

    def __iter__(self) -> Iterator[Any]:
        raise RuntimeError("__iter__ raises")

    def __getitem__(self, key: Any) -> Any:
        raise RuntimeError("__getitem__ raises")

    def get(self, key: Any, default: Any = None) -> Any:
        raise RuntimeError("get() raises")


class UnhashableKeyMapping(Mapping[Any, Any]):
    """A mapping whose keys include a list, which no dict can hold."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = dict(data)

    def __getitem__(self, key: Any) -> Any:
        return self._data[key] if isinstance(key, str) else "list-keyed"

    def __iter__(self) -> Iterator[Any]:
        yield from self._data
        yield ["unhashable"]

    def __len__(self) -> int:
        return len(self._data) + 1


def raising_generator(items: list[Any], after: int) -> Iterator[Any]:
    """Yield up to ``after`` of ``items``, then raise as a caller's generator might."""
    yield from items[:after]
    raise RuntimeError("the caller's generator failed midway")


def _cyclic_list() -> list[Any]:
    value: list[Any] = []
    value.append(value)
    return value


def _cyclic_dict() -> dict[str, Any]:
    value: dict[str, Any] = {}
    value["self"] = value
    return value


def _deep(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


#: Scalars of every wrong kind; built once (they are never mutated by the library).
HOSTILE_SCALARS: tuple[Any, ...] = (
    None,
    True,
    0,
    -1,
    2**64,
    0.0,
    -0.0,
    float("nan"),
    float("inf"),
    -float("inf"),
    1e308,
    "",
    " ",
    "\ud800",
    "x\x00y",
    b"\xff",
    Decimal("NaN"),
    Decimal("sNaN"),
    Decimal("Infinity"),
    Decimal("1e999999"),
    Decimal("1e-999999"),
    Decimal("-0"),
    Decimal("0.1234567890123456789"),
    TaskStatus.COMPLETED,
)


def _fresh_hostile() -> st.SearchStrategy[Any]:
    """Values that are rebuilt per draw: mutable, one-shot or unsafe to share."""
    return st.sampled_from(
        (
            # Built per draw: Hypothesis cannot repr a strategy holding an int this
            # long or an object whose repr raises.
            lambda: 10**5000,
            lambda: -(10**5000),
            lambda: "x" * 5000,
            lambda: RaisingRepr(),
            lambda: RaisingReprStr("t0"),
            lambda: RaisingReprStr(""),
            lambda: threading.Lock(),
            lambda: object(),
            lambda: (x for x in (1, 2)),
            lambda: raising_generator([1, {"task_id": "t0"}], 1),
            lambda: _cyclic_list(),
            lambda: _cyclic_dict(),
            lambda: _deep(100_000),
            lambda: _deep(70),
            lambda: bytearray(b"abc"),
            lambda: deque([1, 2]),
            lambda: {1, 2},
            lambda: [1, [2, [3]]],
            lambda: {7: "x", None: 1},
            lambda: OrderedDict(a=1),
            lambda: RaisingItemsDict(task_id="t0", status="running"),
            lambda: UnhashableKeyMapping({"task_id": "t0"}),
            lambda: FrozenDict({"a": [1]}),
            lambda: lambda: None,
            lambda: pickle,
        )
    ).map(lambda make: make())


#: Any hostile value: a wrong-kind scalar or a freshly built hostile object.
hostile_values: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(HOSTILE_SCALARS), _fresh_hostile()
)


def maybe_hostile(valid: st.SearchStrategy[Any], odds: int = 2) -> st.SearchStrategy[Any]:
    """Draw from ``valid`` or a hostile value (about one draw in ``odds`` is hostile)."""
    return st.one_of([valid] * max(1, odds - 1) + [hostile_values])


def hostile_mappings(valid: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Any]:
    """A valid mapping, one with a hostile value or key, or a hostile object instead."""

    @st.composite
    def spoiled(draw: st.DrawFn) -> Any:
        base = dict(draw(valid))
        how = draw(st.sampled_from(("value", "extra-key", "subclass", "unhashable")))
        if how == "value" and base:
            base[draw(st.sampled_from(sorted(base)))] = draw(hostile_values)
        elif how == "extra-key":
            base[draw(st.sampled_from((7, None, ("k",), "zz", RaisingReprStr("k"))))] = 1
        elif how == "subclass":
            return RaisingItemsDict(base)
        elif how == "unhashable":
            return UnhashableKeyMapping(base)
        return base

    return st.one_of(valid, spoiled(), hostile_values)


def hostile_batches(item: st.SearchStrategy[Any], max_size: int = 4) -> st.SearchStrategy[Any]:
    """A list of (possibly hostile) items, a generator raising midway through it, or a non-batch."""
    items = st.lists(item, max_size=max_size)
    raising = st.tuples(items, st.integers(0, max_size)).map(
        lambda pair: raising_generator(pair[0], pair[1])
    )
    return st.one_of(items, items.map(tuple), items.map(iter), raising, hostile_values)


def call_refused_or_done(call: Callable[[], Any]) -> tuple[bool, Any]:
    """Run ``call``; return ``(True, result)``, or ``(False, error)`` for a `StateError`.

    Any other exception propagates and fails the fuzz test that made the call.
    The error's message and fields are read, so a message that cannot be
    built or shown fails too.
    """
    try:
        return True, call()
    except StateError as err:
        assert isinstance(str(err), str)
        assert err.field is None or type(err.field) is str
        return False, err


def held_data_is_frozen(job: JobExecution) -> bool:
    """True when every task's data in ``job`` is already frozen, so it can never change."""
    return all(
        freeze(record.input_data) is record.input_data and freeze(record.result) is record.result
        for record in job.tasks.records
    )


def snapshot(value: Any) -> bytes:
    """Return a comparable snapshot of an immutable state (its pickle)."""
    return pickle.dumps(value)


#: Valid amounts at the edges of the range money accepts (see docs/api.md).
EXTREME_AMOUNTS: tuple[Any, ...] = (
    "0.000000000000000001",
    "999999999999999999.999999999999999999",
    "999999999999999999",
    10**17,
    Decimal("1E-18"),
    "0",
    0.1,
)


def edge_amounts(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A valid amount, an extreme but valid one, or a hostile value."""
    return st.one_of(valid, st.sampled_from(EXTREME_AMOUNTS), hostile_values)
