"""`UpdateBatch` and `parse_updates`: one validated, stamped batch type callers cannot forge."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest

import core.jobs._columns as columns_module
from core import (
    InvalidUpdateError,
    TaskStatus,
    TaskUpdate,
    UpdateBatch,
    add_tasks,
    apply_task_updates,
    new_job,
    parse_update,
    parse_updates,
)
from core.batching import add_task_update, apply_pending_task_updates, empty_batch
from core.jobs.job import JobExecution
from core.jobs.update_batch import trusted_columns

UPDATES = [
    {"task_id": "t0", "status": "running"},
    {"task_id": "t1", "status": "completed", "result": {"n": 1}, "at": 5.0},
]


def _job() -> JobExecution:
    return add_tasks(new_job("j", "d"), [{"task_id": f"t{i}", "agent_name": "a"} for i in range(3)])


def _forbid_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every validation path of a batch fail loudly if it runs."""

    def refuse(*args: Any) -> Any:
        raise AssertionError("a trusted batch was validated again")

    monkeypatch.setattr(columns_module, "_bulk_checked", refuse)
    monkeypatch.setattr(columns_module, "_parsed_columns", refuse)


def test_batch_cannot_be_built_directly() -> None:
    """Calling UpdateBatch raises the library's error pointing at parse_updates."""
    with pytest.raises(InvalidUpdateError, match="parse_updates"):
        UpdateBatch()


def test_batch_is_immutable() -> None:
    """A batch's attributes cannot be rebound."""
    batch = parse_updates(UPDATES, at=1.0)
    with pytest.raises(AttributeError):
        batch._checked = True  # type: ignore[misc]


def test_parse_updates_validates_and_stamps_missing_ats_once() -> None:
    """Updates come back as TaskUpdates with statuses parsed and only missing ats stamped."""
    batch = parse_updates(UPDATES, at=2.0)
    assert len(batch) == 2 and batch.task_ids == ("t0", "t1")
    assert list(batch) == [
        TaskUpdate("t0", TaskStatus.RUNNING, None, None, 2.0),
        TaskUpdate("t1", TaskStatus.COMPLETED, {"n": 1}, None, 5.0),
    ]
    assert parse_updates(batch) is batch and parse_updates(batch, at=9.0) is batch


def test_parse_updates_stamps_a_trusted_unstamped_batch_without_checking(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A trusted batch with missing ats gets them stamped and is not validated again."""
    batch = parse_updates(UPDATES)
    _forbid_checks(monkeypatch)
    stamped = parse_updates(batch, at=3.0)
    assert [u.at for u in stamped] == [3.0, 5.0]


@pytest.mark.parametrize("bad", [None, 7, {"task_id": "t0", "status": "running"}, "t0"])
def test_parse_updates_refuses_what_is_not_a_batch(bad: Any) -> None:
    """A lone mapping, a string or a non-iterable is refused, naming the updates field."""
    with pytest.raises(InvalidUpdateError) as info:
        parse_updates(bad)
    assert info.value.field == "updates"


def test_parse_updates_names_the_first_bad_update() -> None:
    """The first malformed update's own error comes back, located at its index."""
    with pytest.raises(InvalidUpdateError) as info:
        parse_updates([UPDATES[0], {"task_id": "t1", "status": "bogus"}])
    assert info.value.index == 1 and info.value.field == "status"


def test_apply_trusts_a_parsed_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """apply_task_updates runs no validation on a batch parse_updates made."""
    job = _job()
    expected = apply_task_updates(job, UPDATES)
    batch = parse_updates(UPDATES)
    _forbid_checks(monkeypatch)
    assert apply_task_updates(job, batch) == expected


def test_rows_parse_update_returned_are_not_checked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A batcher's rows, parsed when added, reach the job with no second validation."""
    pending = empty_batch()
    for update in UPDATES:
        pending = add_task_update(pending, **update)
    expected = apply_task_updates(_job(), UPDATES)
    _forbid_checks(monkeypatch)
    assert apply_pending_task_updates(_job(), pending) == expected
    assert [u.at for u in parse_updates(pending.task_updates, at=4.0)] == [4.0, 5.0]


def test_a_row_derived_from_a_parsed_one_is_checked_again() -> None:
    """_replace, _make, copy and pickle of a parsed row give a plain TaskUpdate, checked again."""
    parsed = parse_update({"task_id": "t0", "status": "running"})
    forged = parsed._replace(status="bogus")
    for row in (forged, type(parsed)._make(forged)):
        assert type(row) is TaskUpdate
        with pytest.raises(InvalidUpdateError):
            apply_task_updates(_job(), [row])
    for clone in (copy.copy(parsed), pickle.loads(pickle.dumps(parsed))):
        assert type(clone) is TaskUpdate and clone == parsed
    assert repr(parsed) == repr(TaskUpdate(*parsed))


def test_unpickled_batch_is_checked_once_on_arrival() -> None:
    """A batch off the wire is checked before use: a corrupt one is refused, a good one applies."""
    batch = parse_updates(UPDATES, at=1.0)
    clone = pickle.loads(pickle.dumps(batch))
    assert clone == batch and trusted(clone) is False
    assert apply_task_updates(_job(), clone) == apply_task_updates(_job(), batch)
    assert trusted(parse_updates(clone)) is True
    reducer, (columns,) = batch.__reduce__()
    corrupted = reducer((columns[0], ("bogus", "running"), *columns[2:]))
    with pytest.raises(InvalidUpdateError) as info:
        apply_task_updates(_job(), corrupted)
    assert info.value.index == 0 and info.value.field == "status"


def trusted(batch: UpdateBatch) -> bool:
    """Whether the reducers would apply this batch without checking it."""
    return trusted_columns(batch) is not None


@pytest.mark.parametrize("at", [float("nan"), "noon", True])
def test_a_bad_stamp_is_refused_naming_at(at: Any) -> None:
    """parse_updates checks its own ``at`` and names it, for any form of batch."""
    for updates in (UPDATES, parse_updates(UPDATES)):
        with pytest.raises(InvalidUpdateError) as info:
            parse_updates(updates, at=at)
        assert info.value.field == "at"
