"""What a task's data may hold: frozen once at the door, refused with a StateError otherwise."""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Iterator, Mapping
from decimal import Decimal
from enum import Enum
from types import MappingProxyType
from typing import Any

import pytest

from core import (
    FrozenDict,
    InvalidTaskError,
    InvalidUpdateError,
    StateError,
    TaskRecord,
    TaskStatus,
    add_tasks,
    apply_task_update,
    apply_task_updates,
    freeze,
    job_results,
    new_job,
    new_task,
    parse_update,
)
from core.frozen import MAX_DEPTH


def _cyclic_list() -> list[Any]:
    value: list[Any] = []
    value.append(value)
    return value


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def _generator() -> Iterator[int]:
    yield 1


class _Color(str, Enum):
    RED = "red"


class _UnreadableMapping(Mapping[Any, Any]):
    """A mapping whose items cannot be read."""

    def __getitem__(self, key: Any) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[Any]:
        return iter(["k"])

    def __len__(self) -> int:
        return 1


class _ListKeyedMapping(Mapping[Any, Any]):
    """A mapping whose keys may be lists (unhashable), as a hostile caller could write."""

    def __init__(self, keys: list[Any]) -> None:
        self._keys = keys

    def __getitem__(self, key: Any) -> Any:
        return 1

    def __iter__(self) -> Iterator[Any]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


UNHOLDABLE = [
    pytest.param(_cyclic_list(), id="cyclic-list"),
    pytest.param(_nested(100_000), id="100000-deep"),
    pytest.param(threading.Lock(), id="lock"),
    pytest.param(_generator(), id="generator"),
    pytest.param(object(), id="object"),
    pytest.param({"k": [threading.Lock()]}, id="nested-lock"),
    pytest.param(Decimal("sNaN"), id="signalling-nan"),
    pytest.param(_UnreadableMapping(), id="unreadable-mapping"),
    pytest.param(_ListKeyedMapping([[1], (1,)]), id="keys-equal-once-frozen"),
]


def _job() -> Any:
    return add_tasks(new_job("j", "d", 0.0), [{"task_id": "t", "agent_name": "a"}])


@pytest.mark.parametrize("value", UNHOLDABLE)
def test_new_task_refuses_what_task_data_may_not_hold(value: Any) -> None:
    """new_task refuses cyclic, too deep and unfreezable input_data with an InvalidTaskError."""
    with pytest.raises(InvalidTaskError) as info:
        new_task("t", "a", value)
    assert info.value.field == "input_data"
    assert info.value.value is value
    assert "input_data" in str(info.value)


@pytest.mark.parametrize("value", UNHOLDABLE)
def test_updates_refuse_what_task_data_may_not_hold(value: Any) -> None:
    """One update or a batch with such a result is refused, naming the field and the index."""
    job = _job()
    update = {"task_id": "t", "status": "completed", "result": value}
    with pytest.raises(InvalidUpdateError) as info:
        apply_task_update(job, update)
    assert info.value.field == "result"
    with pytest.raises(InvalidUpdateError) as batch_info:
        apply_task_updates(job, [{"task_id": "t", "status": "running"}, update])
    assert batch_info.value.field == "result"
    assert batch_info.value.index == 1


def test_a_too_deep_value_is_refused_and_one_just_deep_enough_is_kept() -> None:
    """MAX_DEPTH levels of nesting are held, one more is refused."""
    assert freeze(_nested(MAX_DEPTH - 1)) is not None
    with pytest.raises(InvalidTaskError, match="levels deep"):
        freeze(_nested(MAX_DEPTH))


def test_mutable_values_are_copied_so_a_stored_result_never_changes() -> None:
    """A bytearray, list, deque, set or dict result mutated later leaves the job unchanged."""
    payload = bytearray(b"abc")
    items = [1, 2]
    queue = deque([3])
    tags = {"x"}
    data = {"k": items}
    job = apply_task_update(
        _job(),
        {
            "task_id": "t",
            "status": "completed",
            "result": {"b": payload, "l": items, "q": queue, "s": tags, "d": data},
        },
    )
    payload[0] = ord("z")
    items.append(3)
    queue.append(4)
    tags.add("y")
    data["k"] = "changed"
    result = job.tasks["t"].result
    assert result == FrozenDict(
        {
            "b": b"abc",
            "l": (1, 2),
            "q": (3,),
            "s": frozenset({"x"}),
            "d": FrozenDict({"k": (1, 2)}),
        }
    )
    assert type(result["b"]) is bytes


def test_subclasses_of_plain_values_are_stored_as_the_plain_value() -> None:
    """A str enum, an OrderedDict or a mapping proxy is stored as plain str and FrozenDict."""
    value = freeze({"c": _Color.RED, "o": OrderedDict(a=1), "p": MappingProxyType({"b": 2})})
    assert type(value["c"]) is str and value["c"] == "red"
    assert type(value["o"]) is FrozenDict and type(value["p"]) is FrozenDict


def test_a_mapping_with_an_unhashable_key_is_frozen_with_the_key_frozen() -> None:
    """A list key, which no dict could hold, is frozen to a tuple like any value."""
    assert freeze(_ListKeyedMapping([[1]])) == FrozenDict({(1,): 1})


def test_frozen_values_are_returned_as_they_are() -> None:
    """Freezing frozen data allocates nothing: the same objects come back."""
    frozen = freeze({"a": [1, {"b": (2, 3)}], "d": Decimal("1.5"), "n": None})
    assert freeze(frozen) is frozen
    value = (1, "x", frozen)
    assert freeze(value) is value


def test_a_frozen_dict_built_by_hand_around_a_list_is_frozen_again() -> None:
    """FrozenDict({"a": [1]}) built by hand is not trusted: its list becomes a tuple."""
    assert freeze(FrozenDict({"a": [1]})) == FrozenDict({"a": (1,)})


def test_the_refusal_names_where_inside_the_value_the_bad_part_sits() -> None:
    """The message points at the offending part: input_data['k'][0]."""
    with pytest.raises(InvalidTaskError, match=r"input_data\['k'\]\[0\] is a lock"):
        new_task("t", "a", {"k": [threading.Lock()]})


def test_a_mapping_that_cannot_be_read_is_refused_with_its_cause_chained() -> None:
    """What reading a hostile mapping raised is the StateError's cause."""
    with pytest.raises(InvalidTaskError) as info:
        freeze(_UnreadableMapping(), "input_data")
    assert isinstance(info.value.__cause__, KeyError)


def test_the_refusal_happens_in_parse_update_too() -> None:
    """parse_update, the batcher's door, refuses a generator result."""
    with pytest.raises(InvalidUpdateError):
        parse_update({"task_id": "t", "status": "completed", "result": _generator()})


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (TaskRecord("t", "a", None, TaskStatus.COMPLETED, None, 42), "error"),
        (TaskRecord("t", "a", None, TaskStatus.COMPLETED, None, None, "noon"), "started_at"),
        (TaskRecord("t", "a", None, TaskStatus.COMPLETED, None, None, 1.0, "one"), "completed_at"),
        (TaskRecord("t", "a", threading.Lock()), "input_data"),
        (TaskRecord("t", "a", None, TaskStatus.COMPLETED, threading.Lock()), "result"),
        (TaskRecord("t", "a", None, "completed"), "status"),  # type: ignore[arg-type]
        (TaskRecord("t", "a", round=0), "round"),
    ],
)
def test_a_hand_built_task_record_is_validated_like_a_spec(record: TaskRecord, field: str) -> None:
    """add_tasks refuses a hand-built record with a bad field, naming the field and index."""
    with pytest.raises(InvalidTaskError) as info:
        add_tasks(new_job("j", "d"), [record])
    assert info.value.field == field
    assert info.value.index == 0


def test_a_hand_built_record_with_mutable_data_is_stored_frozen() -> None:
    """The issue's record: a list input and int timestamps are stored frozen and as floats."""
    record = TaskRecord("t", "a", [1], TaskStatus.COMPLETED, {"r": [2]}, None, 1, 2, 1)
    job = add_tasks(new_job("j", "d"), [record])
    stored = job.tasks["t"]
    assert stored.input_data == (1,)
    assert stored.result == FrozenDict({"r": (2,)})
    assert (stored.started_at, stored.completed_at) == (1.0, 2.0)
    assert job_results(job)[0]["result"] == {"r": [2]}


def test_a_valid_record_is_kept_with_the_same_values() -> None:
    """A record that needs no freezing or conversion is stored as it is: its values, not copies."""
    record = new_task("t", "a", {"x": 1})
    job = add_tasks(new_job("j", "d"), [record])
    stored = job.tasks["t"]
    assert stored == record and stored.input_data is record.input_data


def test_every_refusal_is_a_state_error() -> None:
    """The refusals above are StateErrors and ValueErrors, never TypeError or RecursionError."""
    for param in UNHOLDABLE:
        with pytest.raises(StateError) as info:
            freeze(param.values[0])
        assert isinstance(info.value, ValueError)
