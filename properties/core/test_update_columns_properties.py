"""Properties of `to_update_columns`: the bulk checks agree with `parse_update` item by item.

`to_update_columns` takes a fast path over whole columns and falls back to
parsing update by update, so for any batch it must either return exactly the
updates `parse_update` gives one at a time (stamped with ``default_at`` where
they carry no ``at``), or raise the very error the first bad update raises
alone, located at its index. Batches mix valid updates with values of random
types, random extra and missing keys, and the valid-but-unusual values (str
and float subclasses, other mappings) that only the careful path accepts.
"""

from __future__ import annotations

import math
import pickle
from collections import OrderedDict
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from core import (
    FrozenDict,
    JobExecution,
    StateError,
    TaskStatus,
    TaskUpdate,
    apply_task_update,
    apply_task_updates,
    parse_update,
)
from core.errors import describe
from core.jobs._columns import UpdateColumns, to_update_columns
from properties.strategies import (
    STATUS_VALUES,
    TASK_IDS,
    UNKNOWN_TASK_IDS,
    check_batch_matches_sequential,
    jobs,
    json_values,
    timestamps,
)

FIELDS = ("task_id", "status", "result", "error", "at")
_REQUIRED = ("task_id", "status")
_ODD_KEYS: tuple[Any, ...] = ("colour", "state", "at ", "Task_id", "results", 7, None)


class MyStr(str):
    """A str subclass: valid wherever a str is, but unknown to the bulk type checks."""


class MyFloat(float):
    """A float subclass (a stand-in for numpy's float64), unknown to the bulk type checks."""


#: Values of every kind a caller might send by mistake (or, for the subclasses, on purpose).
_odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.sampled_from((10**400, -(10**400), 10**308, 2**53 + 1)),
    st.floats(),
    st.floats().map(MyFloat),
    st.text(max_size=3),
    st.binary(max_size=2),
    st.sampled_from((*STATUS_VALUES, "RUNNING", "done", "")),
    st.sampled_from(list(TaskStatus)),
    st.sampled_from(TASK_IDS).map(MyStr),
    st.sampled_from(STATUS_VALUES).map(MyStr),
    st.lists(st.integers(0, 3), max_size=2),
    st.tuples(st.sampled_from(TASK_IDS), st.sampled_from(STATUS_VALUES)),
    st.dictionaries(st.text(max_size=2), st.integers(0, 3), max_size=2),
)

#: Per field: near misses, and valid values only the careful path knows (subclasses).
_NEAR: dict[str, st.SearchStrategy[Any]] = {
    "task_id": st.sampled_from(("", 0, None, b"t0", ("t0",)))
    | st.sampled_from(TASK_IDS).map(MyStr),
    "status": st.sampled_from(("done", "RUNNING", "", None, 1, ["running"]))
    | st.sampled_from(STATUS_VALUES).map(MyStr),
    "result": st.sampled_from(([1, [2]], {"a": [1]}, {3}, MyStr("r"), b"r", 1.5)),
    "error": st.sampled_from((5, b"boom", True, MyStr("e"), ["e"])),
    "at": st.sampled_from(
        (True, False, math.nan, math.inf, -math.inf, 10**400, "now", MyFloat(1.5), MyFloat("nan"))
    ),
}

_VALID: dict[str, st.SearchStrategy[Any]] = {
    "task_id": st.sampled_from(TASK_IDS),
    "status": st.sampled_from(STATUS_VALUES + tuple(TaskStatus)),
    "result": json_values,
    "error": st.none() | st.text(max_size=4),
    # Huge finite timestamps overflow a sum of the column, never a single value.
    "at": st.none() | timestamps | st.sampled_from((1e308, -1e308, 10**308)),
}
#: Valid timestamps that are all floats: the bulk path's float-only case.
_FLOAT_ATS = st.floats(0, 2e9) | st.sampled_from((1e308, -1e308))

_not_mappings = st.sampled_from((None, "t0", b"t0", 3, ("t0", "running"), ["t0", "running"]))
_other_mappings = st.sampled_from((OrderedDict, FrozenDict, MappingProxyType))
_default_ats = st.none() | timestamps
_MODES = ("valid", "one_bad", "one_bad", "noisy")


def _bad(key: str) -> st.SearchStrategy[Any]:
    """A value for ``key`` that is wrong, or unusual enough to need the careful path."""
    return _NEAR[key] | _odd_values


@st.composite
def raw_fields(
    draw: st.DrawFn,
    noise: int = 0,
    ids: st.SearchStrategy[Any] | None = None,
    float_ats: bool = False,
) -> dict[str, Any]:
    """All five fields, each valid or, with chance ``noise``/10, a bad or unusual value."""
    valid = {**_VALID, "task_id": _VALID["task_id"] if ids is None else ids}
    if float_ats:
        valid["at"] = _FLOAT_ATS
    return {
        key: draw(_bad(key) if draw(st.integers(0, 9)) < noise else valid[key]) for key in FIELDS
    }


@st.composite
def update_items(draw: st.DrawFn, kind: str, noise: int, float_ats: bool) -> Any:
    """One batch item of ``kind``: a dict (keys possibly missing or extra), a TaskUpdate, etc."""
    if kind == "not_mapping":
        return draw(_not_mappings)
    fields = draw(raw_fields(noise, float_ats=float_ats))
    if kind == "task_update":
        return TaskUpdate(**fields)
    item = {k: v for k, v in fields.items() if k in _REQUIRED or draw(st.booleans())}
    if draw(st.integers(0, 19)) < noise:
        del item[draw(st.sampled_from(_REQUIRED))]
    if draw(st.integers(0, 19)) < noise:
        item[draw(st.sampled_from(_ODD_KEYS))] = draw(_odd_values)
    if kind == "other_mapping":
        return draw(_other_mappings)(item)
    return item


@st.composite
def corrupted(draw: st.DrawFn, item: Any) -> Any:
    """``item`` with one thing wrong: a field, a missing or unknown key, or not a mapping."""
    how = draw(st.sampled_from(("field", "field", "field", "drop", "extra", "other", "not")))
    if isinstance(item, TaskUpdate):
        fields = item._asdict()
    elif isinstance(item, Mapping):
        fields = dict(item)
    else:
        how = "not"
    if how == "not":
        return draw(_not_mappings)
    if how == "field":
        key = draw(st.sampled_from(FIELDS))
        fields[key] = draw(_bad(key))
        return TaskUpdate(**fields) if isinstance(item, TaskUpdate) else fields
    if how == "drop":
        fields.pop(draw(st.sampled_from(_REQUIRED)))
    elif how == "extra":
        fields[draw(st.sampled_from(_ODD_KEYS))] = draw(_odd_values)
    # An other mapping with valid content is valid: the careful path must accept it.
    return draw(_other_mappings)(fields) if how == "other" else fields


_STYLES = {
    "dicts": ("dict",),
    "task_updates": ("task_update",),
    "mixed": ("dict", "dict", "task_update", "other_mapping", "not_mapping"),
}


@st.composite
def batches(draw: st.DrawFn, max_size: int = 8) -> list[Any]:
    """A batch, often homogeneous (the bulk path's case): valid, valid but one, or noisy."""
    style = draw(st.sampled_from(("dicts", "dicts", "task_updates", "mixed")))
    kinds = _STYLES[style]
    mode = draw(st.sampled_from(_MODES))
    noise = draw(st.sampled_from((1, 3))) if mode == "noisy" else 0
    float_ats = draw(st.booleans())
    size = draw(st.integers(1 if mode == "one_bad" else 0, max_size))
    batch = [
        draw(update_items(draw(st.sampled_from(kinds)), noise, float_ats)) for _ in range(size)
    ]
    if mode == "one_bad":
        index = draw(st.integers(0, size - 1))
        batch[index] = draw(corrupted(batch[index]))
    event(f"{style} batch, {mode}")
    return batch


@st.composite
def full_field_lists(
    draw: st.DrawFn, ids: st.SearchStrategy[Any] | None = None, max_size: int = 8
) -> list[dict[str, Any]]:
    """Dicts carrying all five fields (so a TaskUpdate and a column row can say the same)."""
    mode = draw(st.sampled_from(_MODES))
    noise = draw(st.sampled_from((1, 3))) if mode == "noisy" else 0
    fields = raw_fields(noise, ids, float_ats=draw(st.booleans()))
    dicts = draw(st.lists(fields, min_size=mode == "one_bad", max_size=max_size))
    if mode == "one_bad":
        key = draw(st.sampled_from(FIELDS))
        dicts[draw(st.integers(0, len(dicts) - 1))][key] = draw(_bad(key))
    return dicts


# ---------------------------------------------------------------- helpers


def _outcome(fn: Callable[..., Any], *args: Any) -> Any:
    """The result of ``fn(*args)``, or the exception it raises."""
    try:
        return fn(*args)
    except Exception as err:  # the property compares errors of any type
        return err


def _typed(value: Any) -> Any:
    """A value's comparable fingerprint: rows and columns with each value's exact type."""
    if isinstance(value, UpdateColumns):
        return ("columns", tuple(tuple((type(v), v) for v in column) for column in value))
    if isinstance(value, list):
        return ("rows", [tuple((type(v), v) for v in row) for row in value])
    return value


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same types, or errors of one type, field, index, value and message."""
    if isinstance(a, Exception) or isinstance(b, Exception):
        if type(a) is not type(b) or str(a) != str(b):
            return False
        if isinstance(a, StateError):
            return (a.field, a.index) == (b.field, b.index) and a.value is b.value
        return True
    return bool(_typed(a) == _typed(b))


def _ident(item: Any) -> Any:
    """The task id an error message names for ``item``, if it names one."""
    if isinstance(item, TaskUpdate):
        return item.task_id
    return item.get("task_id") if isinstance(item, Mapping) else None


def _parse_each(batch: list[Any], default_at: float | None) -> tuple[list[TaskUpdate], Any]:
    """`parse_update` one item at a time, stamped; stops at the first error with its index."""
    parsed = []
    for index, item in enumerate(batch):
        try:
            update = parse_update(item)
        except Exception as err:  # whatever it raises, the batch must too
            return parsed, (index, item, err)
        if update.at is None and default_at is not None:
            update = update._replace(at=float(default_at))
        parsed.append(update)
    return parsed, None


def _as_columns(dicts: list[dict[str, Any]], kind: type = tuple) -> UpdateColumns:
    """The raw values of full-field dicts as a hand-built `UpdateColumns`."""
    return UpdateColumns(*(kind(d[key] for d in dicts) for key in FIELDS))


# ---------------------------------------------------------------- properties


def check_against_parse_update(batch: Any, default_at: Any) -> None:
    """Assert ``to_update_columns(batch)`` is parse_update's run over the rows, or its first error.

    An `UpdateColumns` batch is compared with the parse of its rows.
    """
    rows = batch
    if isinstance(batch, UpdateColumns):
        rows = [TaskUpdate(*row) for row in zip(*batch, strict=True)]
    expected, failure = _parse_each(rows, default_at)
    got = _outcome(to_update_columns, batch, default_at)
    event("valid batch" if failure is None else "invalid batch")
    if failure is None:
        assert isinstance(got, UpdateColumns), got
        assert len(got.task_ids) == len(rows)
        assert all(type(column) is tuple for column in got)
        assert all(type(status) is TaskStatus for status in got.statuses)
        assert _same(got.task_updates(), expected), (got, expected)
        # Validated columns pass through again, as columns, rows or a pickle, unchanged.
        for again in (got, got.task_updates(), pickle.loads(pickle.dumps(got))):
            assert _same(to_update_columns(again), got)
        return
    index, item, alone = failure
    assert isinstance(got, Exception), f"batch accepted, but item [{index}] fails alone: {alone}"
    assert type(got) is type(alone), (got, alone)
    assert isinstance(got, StateError), got
    assert got.index == index, (got, alone)
    assert got.field == alone.field, (got, alone)
    assert got.value is alone.value, (got, alone)
    ident = _ident(item)
    where = f"update[{index}]" + ("" if ident is None else f" (task_id={describe(ident)})")
    assert str(got) == f"{where}: {alone}"


@given(batches(), _default_ats)
def test_columns_equal_parse_update_item_by_item(batch: list[Any], default_at: Any) -> None:
    """to_update_columns gives parse_update's updates row by row, or the first bad item's error."""
    check_against_parse_update(batch, default_at)


_ODD_THINGS = (*FIELDS, "unknown key", "missing key")


@st.composite
def bulk_batches_with_one_odd(draw: st.DrawFn, what: str) -> Any:
    """A valid batch of one form (the bulk path's case) with one odd value, or key for dicts."""
    dicts = draw(st.lists(raw_fields(float_ats=draw(st.booleans())), min_size=1, max_size=6))
    odd = dicts[draw(st.integers(0, len(dicts) - 1))]
    form = draw(st.sampled_from(("dicts", "task_updates", "columns")))
    if what == "unknown key":
        odd[draw(st.sampled_from(_ODD_KEYS))] = draw(_VALID["error"])
        form = "dicts"
    elif what == "missing key":
        del odd[draw(st.sampled_from(FIELDS))]
        form = "dicts"
    else:
        odd[what] = draw(_NEAR[what])
    event(f"{form} batch")
    if form == "task_updates":
        return [TaskUpdate(**d) for d in dicts]
    return _as_columns(dicts) if form == "columns" else dicts


@pytest.mark.parametrize("what", _ODD_THINGS)
@given(data=st.data(), default_at=_default_ats)
def test_one_odd_thing_in_a_bulk_batch_is_judged_as_parse_update_does(
    what: str, data: st.DataObject, default_at: Any
) -> None:
    """One near-miss value or key in a bulk-checkable batch is accepted or named as it is alone."""
    check_against_parse_update(data.draw(bulk_batches_with_one_odd(what)), default_at)


@given(
    st.lists(raw_fields(), min_size=1, max_size=6),
    st.sampled_from((*STATUS_VALUES, "done", "RUNNING", "")),
    st.none() | st.tuples(st.integers(0, 5), _NEAR["status"]),
    _default_ats,
)
def test_a_batch_of_one_status_is_judged_as_parse_update_does(
    dicts: list[dict[str, Any]], status: str, odd: tuple[int, Any] | None, default_at: Any
) -> None:
    """A batch whose updates share one status (a near miss at most once) is judged item by item."""
    for update in dicts:
        update["status"] = status
    if odd is not None:
        index, value = odd
        dicts[index % len(dicts)]["status"] = value
    check_against_parse_update(dicts, default_at)


@given(full_field_lists(), _default_ats, st.booleans())
def test_dicts_task_updates_and_columns_agree(
    dicts: list[dict[str, Any]], default_at: Any, drop_nones: bool
) -> None:
    """The same raw updates as dicts, TaskUpdates or UpdateColumns give one result or one error."""
    # An optional field that is None may as well be missing from the dict.
    as_dicts = [
        {k: v for k, v in d.items() if not drop_nones or v is not None or k in _REQUIRED}
        for d in dicts
    ]
    forms = {
        "task_updates": [TaskUpdate(**d) for d in dicts],
        "columns": _as_columns(dicts),
        "columns_of_lists": _as_columns(dicts, list),
    }
    want = _outcome(to_update_columns, as_dicts, default_at)
    event("accepted" if isinstance(want, UpdateColumns) else "rejected")
    for name, batch in forms.items():
        got = _outcome(to_update_columns, batch, default_at)
        assert _same(got, want), (name, got, want)


@st.composite
def jobs_and_full_updates(draw: st.DrawFn) -> tuple[JobExecution, list[dict[str, Any]]]:
    """A job and full-field updates naming its tasks, some unknown ids, some bad values."""
    job = draw(jobs(max_steps=3))
    known = list(job.task_order) or list(TASK_IDS[:1])
    ids = st.sampled_from(known) | st.sampled_from(UNKNOWN_TASK_IDS)
    return job, draw(full_field_lists(ids, max_size=6))


@given(jobs_and_full_updates())
def test_applying_columns_equals_one_at_a_time(
    case: tuple[JobExecution, list[dict[str, Any]]],
) -> None:
    """apply_task_updates on hand-built UpdateColumns equals applying the dicts one by one."""
    job, dicts = case
    check_batch_matches_sequential(
        job, dicts, lambda j, ds: apply_task_updates(j, _as_columns(ds)), apply_task_update
    )
