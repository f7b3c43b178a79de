"""Unit tests for the job model: tasks, jobs, adding tasks, and pickling."""

from __future__ import annotations

import gc
import pickle

import pytest

from core import (
    DuplicateTaskError,
    FrozenDict,
    InvalidTaskError,
    StateError,
    TaskRecord,
    TaskStatus,
    add_task,
    add_tasks,
    apply_task_updates,
    is_job_complete,
    new_job,
    new_task,
    tasks_in_order,
)


def make_job(n: int = 3, job_id: str = "job-1") -> object:
    return add_tasks(
        new_job(job_id, "coffee drinkers in Lisbon", created_at=100.0),
        [{"task_id": f"t{i}", "agent_name": f"agent-{i % 2}"} for i in range(n)],
    )


def test_new_task_is_pending_with_defaults() -> None:
    """A new task starts pending in round 1 with no result, error or timestamps."""
    task = new_task("t1", "scout", {"query": "x"})
    assert task.status is TaskStatus.PENDING
    assert task.round == 1
    assert (task.result, task.error, task.started_at, task.completed_at) == (None,) * 4


def test_new_task_freezes_input_data() -> None:
    """Input data is deep-frozen: the caller's later edits don't leak in, and writes raise."""
    data = {"query": "x", "tags": ["a", "b"], "nested": {"k": 1}}
    task = new_task("t1", "scout", data)
    data["query"] = "changed"
    data["tags"].append("c")
    assert task.input_data == {"query": "x", "tags": ("a", "b"), "nested": {"k": 1}}
    assert isinstance(task.input_data, FrozenDict)
    with pytest.raises(TypeError):
        task.input_data["query"] = "y"
    with pytest.raises(TypeError):
        task.input_data["nested"]["k"] = 2


def test_task_record_is_immutable() -> None:
    """A task record's fields cannot be assigned."""
    task = new_task("t1", "scout")
    with pytest.raises(AttributeError):
        task.status = TaskStatus.RUNNING  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"task_id": "", "agent_name": "a"}, "task_id"),
        ({"task_id": 7, "agent_name": "a"}, "task_id"),
        ({"task_id": "t", "agent_name": ""}, "agent_name"),
        ({"task_id": "t", "agent_name": None}, "agent_name"),
        ({"task_id": "t", "agent_name": "a", "round": 0}, "round"),
        ({"task_id": "t", "agent_name": "a", "round": True}, "round"),
        ({"task_id": "t", "agent_name": "a", "round": 1.5}, "round"),
    ],
)
def test_new_task_rejects_bad_fields(kwargs: dict[str, object], field: str) -> None:
    """A malformed task raises InvalidTaskError naming the field and its value."""
    with pytest.raises(InvalidTaskError) as info:
        new_task(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field
    assert field in str(info.value)
    assert repr(kwargs.get(field)) in str(info.value)


def test_new_job_is_empty_and_not_complete() -> None:
    """A job with no tasks has zero counts and is not complete."""
    job = new_job("j", "desc", created_at=5)
    assert job.created_at == 5.0
    assert len(job.tasks) == 0
    assert dict(job.status_counts) == {"pending": 0, "running": 0, "completed": 0, "failed": 0}
    assert not is_job_complete(job)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("", "d"), "job_id"),
        ((None, "d"), "job_id"),
        (("j", 3), "description"),
        (("j", "d", "yesterday"), "created_at"),
        (("j", "d", float("nan")), "created_at"),
        (("j", "d", True), "created_at"),
    ],
)
def test_new_job_rejects_bad_fields(args: tuple[object, ...], field: str) -> None:
    """A malformed job raises InvalidTaskError naming the field."""
    with pytest.raises(InvalidTaskError) as info:
        new_job(*args)  # type: ignore[arg-type]
    assert info.value.field == field
    assert field in str(info.value)


def test_add_tasks_keeps_insertion_order_and_counts() -> None:
    """Tasks list in the order added, and counts per status and round are kept."""
    job = new_job("j", "d")
    ids = [f"task-{n}" for n in (9, 2, 7, 1, 5)]
    job = add_tasks(job, [{"task_id": i, "agent_name": "a"} for i in ids])
    job = add_task(job, {"task_id": "late", "agent_name": "b", "round": 2})
    assert [t.task_id for t in tasks_in_order(job)] == [*ids, "late"]
    assert job.status_counts["pending"] == 6
    assert dict(job.round_counts[1])["pending"] == 5
    assert dict(job.round_counts[2])["pending"] == 1


def test_add_task_accepts_a_record() -> None:
    """A TaskRecord built with new_task can be added as it is."""
    job = add_task(new_job("j", "d"), new_task("t1", "a", round=3))
    assert job.tasks["t1"].round == 3
    assert job.round_counts[3]["pending"] == 1


def test_add_duplicate_task_raises_and_changes_nothing() -> None:
    """Adding an existing id raises DuplicateTaskError naming it, and the job is unchanged."""
    job = make_job(2)
    with pytest.raises(DuplicateTaskError) as info:
        add_task(job, {"task_id": "t1", "agent_name": "a"})
    assert info.value.field == "task_id"
    assert info.value.value == "t1"
    assert "'t1'" in str(info.value)
    assert len(job.tasks) == 2


def test_add_tasks_is_atomic_on_duplicate_within_batch() -> None:
    """A duplicate inside one batch raises with its position and adds none of the batch."""
    job = make_job(1)
    with pytest.raises(DuplicateTaskError) as info:
        add_tasks(
            job,
            [
                {"task_id": "new-1", "agent_name": "a"},
                {"task_id": "new-2", "agent_name": "a"},
                {"task_id": "new-1", "agent_name": "a"},
            ],
        )
    assert info.value.index == 2
    assert "task[2]" in str(info.value)
    assert set(job.tasks) == {"t0"}


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"task_id": "x", "agent_name": "a", "colour": "red"}, "colour"),
        ({"agent_name": "a"}, "task_id"),
        ({"task_id": "x"}, "agent_name"),
        ("not a mapping", "task"),
        (TaskRecord("x", "a", status="done"), "status"),  # type: ignore[arg-type]
    ],
)
def test_add_task_rejects_malformed_specs(spec: object, field: str) -> None:
    """Unknown keys, missing keys, non-mappings and hand-built bad records are rejected."""
    job = make_job(1)
    with pytest.raises(InvalidTaskError) as info:
        add_task(job, spec)  # type: ignore[arg-type]
    assert info.value.field == field
    assert len(job.tasks) == 1


def test_adding_a_task_to_a_complete_job_reopens_it() -> None:
    """A finished job that gets a round-2 task is no longer complete and loses completed_at."""
    job = make_job(1)
    job = apply_task_updates(job, [{"task_id": "t0", "status": "completed", "at": 200.0}])
    assert is_job_complete(job) and job.completed_at == 200.0
    job = add_task(job, {"task_id": "r2", "agent_name": "a", "round": 2})
    assert not is_job_complete(job)
    assert job.completed_at is None


def test_pickle_round_trip_preserves_everything() -> None:
    """A job survives pickling with equal tasks, order, counts and frozen inputs."""
    job = add_tasks(
        new_job("j", "d", 1.0),
        [
            {"task_id": f"t{i}", "agent_name": "a", "input_data": {"q": i, "l": [1, 2]}}
            for i in range(50)
        ]
        + [{"task_id": "plain", "agent_name": "b", "input_data": "just text", "round": 2}],
    )
    job = apply_task_updates(
        job,
        [
            {"task_id": "t3", "status": "running", "at": 2.0},
            {"task_id": "t4", "status": "completed", "result": {"r": [1]}, "at": 3.0},
        ],
    )
    clone = pickle.loads(pickle.dumps(job))
    assert clone == job
    assert [t.task_id for t in tasks_in_order(clone)] == [t.task_id for t in tasks_in_order(job)]
    assert isinstance(clone.tasks["t1"].input_data, FrozenDict)
    assert clone.tasks["t3"].status is TaskStatus.RUNNING
    empty = new_job("e", "d")
    assert pickle.loads(pickle.dumps(empty)) == empty


def test_errors_pickle_with_their_attributes() -> None:
    """A library error crosses a pickle boundary as the same type with field, value, index."""
    err = DuplicateTaskError("boom 't1'", field="task_id", value="t1").in_batch(3, "t1")
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is DuplicateTaskError
    assert isinstance(clone, StateError) and isinstance(clone, ValueError)
    assert (clone.field, clone.value, clone.index) == ("task_id", "t1", 3)
    assert str(clone) == str(err)


def test_pickling_restores_the_garbage_collector_as_it_found_it() -> None:
    """Encoding and rebuilding pause the collector and leave it enabled or disabled as before."""
    job = add_tasks(
        new_job("j", "d"),
        [{"task_id": f"t{i}", "agent_name": "a", "input_data": {"i": i}} for i in range(100)],
    )
    assert gc.isenabled()
    assert pickle.loads(pickle.dumps(job)) == job
    assert gc.isenabled()
    gc.disable()
    try:
        assert pickle.loads(pickle.dumps(job)) == job
        assert not gc.isenabled()
    finally:
        gc.enable()
