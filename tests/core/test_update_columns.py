"""Unit tests for `UpdateColumns` and `to_update_columns`: columns, errors, ordering, pickling.

`to_update_columns` validates a batch in bulk and falls back to parsing it
update by update, so every error must be exactly the one `parse_update`
raises on the first bad update alone, located with its index and task id.
"""

from __future__ import annotations

import math
import pickle
from typing import Any

import pytest

from core import (
    FrozenDict,
    InvalidTransitionError,
    InvalidUpdateError,
    JobExecution,
    TaskStatus,
    TaskUpdate,
    UnknownTaskError,
    add_tasks,
    apply_task_update,
    apply_task_updates,
    new_job,
    parse_update,
)
from core.jobs._columns import UpdateColumns, to_update_columns


class MyStr(str):
    """A str subclass: valid wherever a str is, but unknown to the bulk type checks."""


class MyFloat(float):
    """A float subclass (a stand-in for numpy's float64), unknown to the bulk type checks."""


DICTS: list[dict[str, Any]] = [
    {"task_id": "t0", "status": "running", "at": 11},
    {"task_id": "t1", "status": TaskStatus.COMPLETED, "result": {"k": [1, 2]}, "at": 12.5},
    {"task_id": "t2", "status": "failed", "error": "boom"},
    {"task_id": "t0", "status": "completed", "result": "done"},
]

EXPECTED = UpdateColumns(
    task_ids=("t0", "t1", "t2", "t0"),
    statuses=(TaskStatus.RUNNING, TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.COMPLETED),
    results=(None, FrozenDict({"k": (1, 2)}), None, "done"),
    errors=(None, None, "boom", None),
    ats=(11.0, 12.5, None, None),
)

FIELDS = ("task_id", "status", "result", "error", "at")
COLUMN_NAMES = ("task_ids", "statuses", "results", "errors", "ats")


def fingerprint(columns: UpdateColumns) -> tuple[tuple[tuple[type, Any], ...], ...]:
    """Each column's values with their exact types: 11 vs 11.0 or dict vs FrozenDict differ."""
    return tuple(tuple((type(v), v) for v in column) for column in columns)


def as_task_updates(dicts: list[dict[str, Any]]) -> list[TaskUpdate]:
    """The same raw (unvalidated) values as hand-built `TaskUpdate`s."""
    return [TaskUpdate(**d) for d in dicts]


def as_columns(dicts: list[dict[str, Any]], kind: type = tuple) -> UpdateColumns:
    """The same raw (unvalidated) values as a hand-built `UpdateColumns`."""
    return UpdateColumns(*(kind(d.get(f) for d in dicts) for f in FIELDS))


def job_with(n: int = 4) -> JobExecution:
    """A job of ``n`` pending tasks t0..t{n-1}."""
    return add_tasks(
        new_job("job", "d", created_at=10.0),
        [{"task_id": f"t{i}", "agent_name": "a"} for i in range(n)],
    )


def parse_error(item: Any) -> InvalidUpdateError:
    """The error `parse_update` raises on ``item`` alone."""
    with pytest.raises(InvalidUpdateError) as info:
        parse_update(item)
    return info.value


# ---------------------------------------------------------------- valid batches


def test_valid_dict_batch_gives_expected_columns() -> None:
    """Dicts become columns of TaskStatus members, frozen results and float timestamps."""
    columns = to_update_columns(DICTS)
    assert type(columns) is UpdateColumns
    assert fingerprint(columns) == fingerprint(EXPECTED)
    assert all(type(s) is TaskStatus for s in columns.statuses)
    assert columns.statuses[0] is TaskStatus.RUNNING
    assert type(columns.results[1]) is FrozenDict
    assert type(columns.results[1]["k"]) is tuple
    assert all(type(c) is tuple for c in columns)
    # The caller's data is not touched.
    assert DICTS[1]["result"] == {"k": [1, 2]} and type(DICTS[1]["result"]) is dict


@pytest.mark.parametrize("extra", [[], [{"task_id": MyStr("t3"), "status": "pending"}]])
@pytest.mark.parametrize("default_at", [99, 99.5])
def test_default_at_stamps_only_missing_ats(extra: list[dict[str, Any]], default_at: float) -> None:
    """default_at fills the missing ats as a float and leaves given ones alone, on both paths."""
    columns = to_update_columns(DICTS + extra, default_at=default_at)
    stamp = float(default_at)
    assert columns.ats == (11.0, 12.5, stamp, stamp) + (stamp,) * len(extra)
    assert all(type(at) is float for at in columns.ats)
    assert to_update_columns(DICTS + extra).ats[2:] == (None,) * (2 + len(extra))


@pytest.mark.parametrize("form", ["dicts", "task_updates", "columns", "careful"])
def test_default_at_stamps_a_batch_without_any_at(form: str) -> None:
    """When no update carries an at, default_at stamps them all; without it they stay None."""
    dicts = [{k: v for k, v in d.items() if k != "at"} for d in DICTS]
    batch = {
        "dicts": dicts,
        "task_updates": as_task_updates(dicts),
        "columns": as_columns(dicts),
        "careful": [*dicts[:-1], {**dicts[-1], "task_id": MyStr("t0")}],
    }[form]
    stamped = to_update_columns(batch, default_at=7)
    assert stamped.ats == (7.0,) * 4 and all(type(at) is float for at in stamped.ats)
    assert to_update_columns(batch).ats == (None,) * 4
    assert stamped[:4] == EXPECTED[:4]


@pytest.mark.parametrize("default_at", [True, float("nan"), math.inf, "now", 10**400])
def test_bad_default_at_is_rejected(default_at: Any) -> None:
    """A default_at that is no finite epoch seconds raises InvalidUpdateError naming it."""
    with pytest.raises(InvalidUpdateError) as info:
        to_update_columns(DICTS, default_at=default_at)
    assert info.value.field == "default_at"
    assert info.value.index is None


@pytest.mark.parametrize(
    "batch",
    [
        pytest.param(as_task_updates(DICTS), id="task_updates"),
        pytest.param(as_columns(DICTS), id="columns"),
        pytest.param(as_columns(DICTS, list), id="columns_of_lists"),
        pytest.param(iter(list(DICTS)), id="iterator"),
        pytest.param(tuple(DICTS), id="tuple"),
    ],
)
def test_other_batch_forms_give_the_dict_batch_columns(batch: Any) -> None:
    """TaskUpdates, hand-built UpdateColumns and any iterable give the very columns of the dicts."""
    assert fingerprint(to_update_columns(batch)) == fingerprint(EXPECTED)


def test_str_and_float_subclasses_are_accepted_on_the_careful_path() -> None:
    """str-subclass task_ids and statuses and float-subclass ats are valid, as for parse_update."""
    batch = [
        *DICTS,
        {"task_id": MyStr("t3"), "status": "running", "at": MyFloat(20.5)},
        {"task_id": "t4", "status": MyStr("failed"), "error": MyStr("oops")},
    ]
    columns = to_update_columns(batch)
    assert columns.task_updates() == [parse_update(u) for u in batch]
    assert columns.task_ids[4] == "t3"
    assert columns.statuses[4:] == (TaskStatus.RUNNING, TaskStatus.FAILED)
    assert all(type(s) is TaskStatus for s in columns.statuses)
    assert columns.ats[4] == 20.5 and type(columns.ats[4]) is float
    assert fingerprint(columns)[4][:4] == fingerprint(EXPECTED)[4]


def test_float_subclass_at_in_task_updates_and_columns_is_accepted() -> None:
    """A MyFloat at inside TaskUpdates or UpdateColumns comes out as a plain float."""
    dicts = [{"task_id": "t0", "status": "running", "at": MyFloat(3.25)}]
    for batch in (as_task_updates(dicts), as_columns(dicts)):
        columns = to_update_columns(batch)
        assert columns.ats == (3.25,) and type(columns.ats[0]) is float


@pytest.mark.parametrize(
    "ats",
    [(1e308, 1e308), (10**308, 1e308), (-1.7e308, -1.7e308, 5)],
    ids=["floats", "int_and_float", "negative"],
)
def test_finite_ats_whose_sum_overflows_are_accepted(ats: tuple[Any, ...]) -> None:
    """Huge but finite timestamps are valid even when their sum overflows a float."""
    batch = [{"task_id": f"t{i}", "status": "running", "at": at} for i, at in enumerate(ats)]
    assert to_update_columns(batch).ats == tuple(float(at) for at in ats)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("form", ["dicts", "task_updates", "columns"])
def test_non_finite_at_among_float_only_ats_is_rejected(form: str, bad: float) -> None:
    """A NaN or infinite at is caught when every at of the batch is a plain float."""
    dicts = [{"task_id": f"t{i}", "status": "running", "at": at} for i, at in enumerate((1.5, bad))]
    batch = {"dicts": dicts, "task_updates": as_task_updates(dicts), "columns": as_columns(dicts)}
    with pytest.raises(InvalidUpdateError) as info:
        to_update_columns(batch[form])
    check_located(info.value, 1, dicts[1], "at")


def test_task_update_results_are_frozen() -> None:
    """A hand-built TaskUpdate holding a mutable result comes out frozen."""
    columns = to_update_columns([TaskUpdate("t0", "completed", {"a": [1, {"b": 2}]})])
    assert columns.results == (FrozenDict({"a": (1, FrozenDict({"b": 2}))}),)
    assert type(columns.results[0]) is FrozenDict
    assert columns.statuses[0] is TaskStatus.COMPLETED


def test_empty_batch_gives_empty_columns() -> None:
    """An empty list, generator or UpdateColumns gives five empty columns."""
    empty = UpdateColumns((), (), (), (), ())
    for batch in ([], (u for u in ()), empty):
        columns = to_update_columns(batch, default_at=5.0)
        assert columns == empty and len(columns.task_ids) == 0 and columns.task_updates() == []


def test_task_updates_round_trip() -> None:
    """task_updates() gives one row per update, rows that rebuild the same columns."""
    columns = to_update_columns(DICTS)
    assert len(columns.task_ids) == 4 and len(columns) == 5
    rows = columns.task_updates()
    assert rows == [parse_update(d) for d in DICTS]
    assert all(type(row) is TaskUpdate for row in rows)
    assert fingerprint(to_update_columns(rows)) == fingerprint(columns)
    assert fingerprint(to_update_columns(columns)) == fingerprint(columns)


@pytest.mark.parametrize("protocol", range(2, pickle.HIGHEST_PROTOCOL + 1))
def test_update_columns_pickle_round_trip(protocol: int) -> None:
    """An UpdateColumns unpickles to an equal UpdateColumns of the same members and types."""
    columns = to_update_columns(DICTS, default_at=1.0)
    back = pickle.loads(pickle.dumps(columns, protocol=protocol))
    assert type(back) is UpdateColumns
    assert fingerprint(back) == fingerprint(columns)
    assert back.statuses[1] is TaskStatus.COMPLETED
    assert fingerprint(to_update_columns(back)) == fingerprint(columns)


# ---------------------------------------------------------------- malformed updates

MALFORMED: list[tuple[str, Any, str]] = [
    ("unknown_key", {"task_id": "t3", "status": "running", "colour": 1}, "colour"),
    ("non_str_key", {"task_id": "t3", "status": "running", 7: 1}, "7"),
    ("missing_task_id", {"status": "running"}, "task_id"),
    ("missing_status", {"task_id": "t3"}, "status"),
    ("missing_both", {}, "task_id"),
    ("empty_task_id", {"task_id": "", "status": "running"}, "task_id"),
    ("int_task_id", {"task_id": 5, "status": "running"}, "task_id"),
    ("bytes_task_id", {"task_id": b"t3", "status": "running"}, "task_id"),
    ("none_task_id", {"task_id": None, "status": "running"}, "task_id"),
    ("bad_status", {"task_id": "t3", "status": "done"}, "status"),
    ("upper_status", {"task_id": "t3", "status": "RUNNING"}, "status"),
    ("none_status", {"task_id": "t3", "status": None}, "status"),
    ("int_status", {"task_id": "t3", "status": 1}, "status"),
    ("list_status", {"task_id": "t3", "status": ["running"]}, "status"),
    ("dict_status", {"task_id": "t3", "status": {"running": 1}}, "status"),
    ("int_error", {"task_id": "t3", "status": "failed", "error": 42}, "error"),
    ("bytes_error", {"task_id": "t3", "status": "failed", "error": b"boom"}, "error"),
    ("bool_at", {"task_id": "t3", "status": "running", "at": True}, "at"),
    ("nan_at", {"task_id": "t3", "status": "running", "at": float("nan")}, "at"),
    ("inf_at", {"task_id": "t3", "status": "running", "at": math.inf}, "at"),
    ("minus_inf_at", {"task_id": "t3", "status": "running", "at": -math.inf}, "at"),
    ("huge_int_at", {"task_id": "t3", "status": "running", "at": 10**400}, "at"),
    ("str_at", {"task_id": "t3", "status": "running", "at": "now"}, "at"),
    ("nan_subclass_at", {"task_id": "t3", "status": "running", "at": MyFloat("nan")}, "at"),
    ("list", ["t3", "running"], "update"),
    ("tuple", ("t3", "running"), "update"),
    ("str", "t3", "update"),
    ("none", None, "update"),
    ("bad_task_update_status", TaskUpdate("t3", "done"), "status"),  # type: ignore[arg-type]
    ("bad_task_update_id", TaskUpdate("", TaskStatus.RUNNING), "task_id"),
    ("bad_task_update_at", TaskUpdate("t3", TaskStatus.RUNNING, at=math.nan), "at"),
]


def expected_prefix(index: int, item: Any) -> str:
    """``update[i]``, then ``(task_id=...)`` when the item names one."""
    if isinstance(item, TaskUpdate):
        ident = item.task_id
    else:
        ident = item.get("task_id") if isinstance(item, dict) else None
    return f"update[{index}]" + ("" if ident is None else f" (task_id={ident!r})")


def check_located(err: InvalidUpdateError, index: int, item: Any, field: str) -> None:
    """``err`` is ``parse_update(item)``'s own error, located at ``index``."""
    alone = parse_error(item)
    assert type(err) is InvalidUpdateError
    assert err.field == alone.field == field
    assert err.index == index and alone.index is None
    assert err.value is alone.value
    assert str(err) == f"{expected_prefix(index, item)}: {alone}"


@pytest.mark.parametrize(
    ("item", "field"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_update_raises_its_own_error_located(item: Any, field: str) -> None:
    """A bad update 3 raises parse_update's own error, prefixed update[3] and naming its field."""
    batch = [*DICTS[:3], item, DICTS[3]]
    with pytest.raises(InvalidUpdateError) as info:
        to_update_columns(batch)
    check_located(info.value, 3, item, field)
    assert str(info.value).startswith("update[3]")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("task_id", ""),
        ("task_id", 5),
        ("status", "done"),
        ("status", ["running"]),
        ("error", 42),
        ("at", True),
        ("at", math.nan),
        ("at", math.inf),
        ("at", 10**400),
    ],
)
@pytest.mark.parametrize("form", ["dicts", "task_updates", "columns", "columns_of_lists"])
def test_bad_field_is_reported_alike_in_every_batch_form(form: str, field: str, value: Any) -> None:
    """Dicts, TaskUpdates and UpdateColumns carrying the same bad value raise the same error."""
    dicts = [*DICTS[:2], {**DICTS[2], field: value}, DICTS[3]]
    batch: Any = {
        "dicts": dicts,
        "task_updates": as_task_updates(dicts),
        "columns": as_columns(dicts),
        "columns_of_lists": as_columns(dicts, list),
    }[form]
    with pytest.raises(InvalidUpdateError) as info:
        to_update_columns(batch)
    check_located(info.value, 2, dicts[2], field)


def test_first_bad_update_is_the_one_reported() -> None:
    """With bad updates at 1 and 3, the error names update 1 and its own field."""
    batch = [DICTS[0], {"task_id": "t1", "status": "done"}, DICTS[2], {"task_id": "t3"}]
    with pytest.raises(InvalidUpdateError) as info:
        to_update_columns(batch)
    check_located(info.value, 1, batch[1], "status")


@pytest.mark.parametrize(
    "batch",
    [{"task_id": "t0", "status": "running"}, FrozenDict({"task_id": "t0"}), 5, None, "t0", b"t0"],
    ids=["mapping", "frozen_mapping", "int", "none", "str", "bytes"],
)
def test_batch_that_is_no_iterable_of_updates_is_rejected(batch: Any) -> None:
    """A lone mapping, a string or a non-iterable as the batch raises naming field 'updates'."""
    with pytest.raises(InvalidUpdateError) as info:
        to_update_columns(batch)
    assert info.value.field == "updates"
    assert info.value.index is None
    assert str(info.value).startswith("updates must be an iterable")


def test_lone_task_update_as_batch_is_rejected_as_not_a_batch() -> None:
    """A lone TaskUpdate passed as the batch raises naming field 'updates', like a lone mapping."""
    with pytest.raises(InvalidUpdateError) as info:
        to_update_columns(TaskUpdate("t0", TaskStatus.RUNNING))  # type: ignore[arg-type]
    assert info.value.field == "updates"


@pytest.mark.parametrize("longer", COLUMN_NAMES)
def test_update_columns_of_unequal_length_are_rejected(longer: str) -> None:
    """An UpdateColumns whose columns differ in length raises naming every column's length."""
    raw = as_columns(DICTS)
    columns = raw._replace(**{longer: (*getattr(raw, longer), None)})
    with pytest.raises(InvalidUpdateError) as info:
        to_update_columns(columns)
    assert info.value.field == "updates"
    assert info.value.index is None
    assert f"'{longer}': 5" in str(info.value)
    assert all(f"'{name}': 4" in str(info.value) for name in COLUMN_NAMES if name != longer)


@pytest.mark.parametrize("bad", [5, None, "abcd", b"abcd", {"a": 1, "b": 2, "c": 3, "d": 4}])
@pytest.mark.parametrize("name", COLUMN_NAMES)
def test_update_columns_with_a_non_sequence_column_are_rejected(name: str, bad: Any) -> None:
    """An UpdateColumns column that is no sequence raises InvalidUpdateError naming that column."""
    columns = as_columns(DICTS)._replace(**{name: bad})
    with pytest.raises(InvalidUpdateError) as info:
        to_update_columns(columns)
    assert info.value.field == name
    assert info.value.value is bad
    assert f"UpdateColumns.{name} must be a sequence" in str(info.value)


def test_update_columns_with_an_unordered_column_are_rejected() -> None:
    """A set as a column has no row order, so it raises naming the column instead of re-pairing."""
    ids = [f"t{i}" for i in range(12)]
    columns = UpdateColumns(
        set(ids),  # type: ignore[arg-type]
        tuple(TaskStatus.RUNNING for _ in ids),
        tuple(ids),  # each row's result is meant to be its own task id
        (None,) * 12,
        (None,) * 12,
    )
    with pytest.raises(InvalidUpdateError) as info:
        to_update_columns(columns)
    assert info.value.field == "task_ids"


# ---------------------------------------------------------------- applying columns


def test_apply_columns_equals_apply_dicts_and_one_at_a_time() -> None:
    """apply_task_updates gives one job for dicts, TaskUpdates, raw and validated columns."""
    sequential = job_with()
    for update in DICTS:
        sequential = apply_task_update(sequential, update)
    assert sequential != job_with()
    for batch in (DICTS, as_task_updates(DICTS), as_columns(DICTS), to_update_columns(DICTS)):
        assert apply_task_updates(job_with(), batch) == sequential


BATCH_FORMS = {
    "dicts": lambda dicts: dicts,
    "task_updates": as_task_updates,
    "columns": as_columns,
}


# (batch, error type the first bad update raises, its index): whichever fails
# first in order wins, whether it is malformed or only fails when applied.
FIRST_FAILURE_CASES = {
    "unknown task before malformed": (
        [
            {"task_id": "t0", "status": "running", "at": 1},
            {"task_id": "ghost", "status": "running"},
            {"task_id": "t1", "status": "completed"},
            {"task_id": "t2", "status": "done"},
        ],
        UnknownTaskError,
        1,
    ),
    "forbidden move before malformed": (
        [
            {"task_id": "t0", "status": "completed", "at": 1},
            {"task_id": "t1", "status": "running"},
            {"task_id": "t0", "status": "running"},
            {"task_id": "t2", "status": "running", "at": math.nan},
        ],
        InvalidTransitionError,
        2,
    ),
    "malformed after valid ones": (
        [
            {"task_id": "t0", "status": "running", "at": 1},
            {"task_id": "t1", "status": "failed", "error": "x"},
            {"task_id": "t0", "status": "completed"},
            {"task_id": "t2", "status": "done"},
        ],
        InvalidUpdateError,
        3,
    ),
}


@pytest.mark.parametrize("case", sorted(FIRST_FAILURE_CASES))
@pytest.mark.parametrize("form", sorted(BATCH_FORMS))
def test_first_failing_update_in_order_is_reported(form: str, case: str) -> None:
    """The first update that fails, malformed or not, names the error; the job is unchanged."""
    dicts, error, index = FIRST_FAILURE_CASES[case]
    job = job_with()
    before = pickle.loads(pickle.dumps(job))
    with pytest.raises(error) as info:
        apply_task_updates(job, BATCH_FORMS[form](dicts))
    assert type(info.value) is error
    assert info.value.index == index
    task_id = dicts[index]["task_id"]
    assert str(info.value).startswith(f"update[{index}] (task_id={task_id!r}): ")
    if error is InvalidUpdateError:
        check_located(info.value, index, dicts[index], "status")
    assert job == before


def test_apply_lone_mapping_as_batch_is_rejected_as_not_a_batch() -> None:
    """apply_task_updates given a lone mapping raises naming 'updates' like to_update_columns."""
    with pytest.raises(InvalidUpdateError) as info:
        apply_task_updates(job_with(), {"task_id": "t0", "status": "running"})  # type: ignore[arg-type]
    assert info.value.field == "updates"
