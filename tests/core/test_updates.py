"""Unit tests for task update reducers: every transition, every error, and atomic batches."""

from __future__ import annotations

import itertools

import pytest

from core import (
    InvalidTransitionError,
    InvalidUpdateError,
    JobExecution,
    TaskStatus,
    UnknownTaskError,
    add_tasks,
    apply_task_update,
    apply_task_updates,
    is_job_complete,
    new_job,
)

STATUSES = [s.value for s in TaskStatus]
ALLOWED = {
    ("pending", "running"),
    ("pending", "completed"),
    ("pending", "failed"),
    ("running", "completed"),
    ("running", "failed"),
}


def job_with(n: int = 3) -> JobExecution:
    return add_tasks(
        new_job("job", "d", created_at=10.0),
        [{"task_id": f"t{i}", "agent_name": "a"} for i in range(n)],
    )


def job_at(status: str) -> JobExecution:
    """A one-task job whose task has reached ``status`` by an allowed path."""
    job = job_with(1)
    if status == "pending":
        return job
    if status == "running":
        return apply_task_update(job, {"task_id": "t0", "status": "running", "at": 11.0})
    job = apply_task_update(job, {"task_id": "t0", "status": "running", "at": 11.0})
    return apply_task_update(job, {"task_id": "t0", "status": status, "at": 12.0})


@pytest.mark.parametrize(("old", "new"), list(itertools.product(STATUSES, STATUSES)))
def test_every_transition_is_allowed_or_rejected(old: str, new: str) -> None:
    """Each of the 16 status pairs is accepted exactly when the lifecycle allows it."""
    job = job_at(old)
    update = {"task_id": "t0", "status": new, "at": 20.0}
    if old == new:
        assert apply_task_update(job, update) == job
    elif (old, new) in ALLOWED:
        after = apply_task_update(job, update)
        assert after.tasks["t0"].status == new
        assert after.status_counts[new] == 1 and after.status_counts[old] == 0
    else:
        with pytest.raises(InvalidTransitionError) as info:
            apply_task_update(job, update)
        assert info.value.field == "status"
        assert info.value.value == new
        assert repr(old) in str(info.value) and repr(new) in str(info.value)


def test_timestamps_are_set_on_first_entry() -> None:
    """started_at is set on entering running, completed_at on entering a terminal status."""
    job = apply_task_update(job_with(1), {"task_id": "t0", "status": "running", "at": 11.0})
    assert job.tasks["t0"].started_at == 11.0
    job = apply_task_update(
        job, {"task_id": "t0", "status": "completed", "result": "profile", "at": 15.0}
    )
    task = job.tasks["t0"]
    assert (task.started_at, task.completed_at, task.duration) == (11.0, 15.0, 4.0)
    assert task.result == "profile"


def test_repeated_status_changes_nothing_and_keeps_first_timestamps() -> None:
    """A poller repeating 'running' keeps the first started_at and the very same job value."""
    job = apply_task_update(job_with(1), {"task_id": "t0", "status": "running", "at": 11.0})
    again = apply_task_update(job, {"task_id": "t0", "status": "running", "at": 99.0})
    assert again is job
    done = apply_task_update(job, {"task_id": "t0", "status": "completed", "at": 12.0})
    assert (
        apply_task_update(
            done, {"task_id": "t0", "status": "completed", "result": "late", "at": 50.0}
        )
        is done
    )


def test_failed_update_keeps_its_error() -> None:
    """A failed task stores the agent's error text and completion time."""
    job = apply_task_update(
        job_with(1), {"task_id": "t0", "status": "failed", "error": "agent timed out", "at": 13}
    )
    assert job.tasks["t0"].error == "agent timed out"
    assert job.tasks["t0"].completed_at == 13.0
    assert job.tasks["t0"].started_at is None


def test_job_completes_when_all_tasks_are_terminal() -> None:
    """The job's completed_at is the time its last task reached a terminal status."""
    job = job_with(2)
    job = apply_task_update(job, {"task_id": "t0", "status": "completed", "at": 20.0})
    assert not is_job_complete(job) and job.completed_at is None
    job = apply_task_update(job, {"task_id": "t1", "status": "failed", "at": 30.0})
    assert is_job_complete(job)
    assert job.completed_at == 30.0


def test_missing_at_leaves_timestamps_unknown() -> None:
    """The core reads no clock: an update without 'at' leaves the timestamps None."""
    job = apply_task_update(job_with(1), {"task_id": "t0", "status": "running"})
    assert job.tasks["t0"].started_at is None


@pytest.mark.parametrize(
    ("update", "field", "error_type"),
    [
        ({"task_id": "t0", "status": "running", "colour": 1}, "colour", InvalidUpdateError),
        ({"status": "running"}, "task_id", InvalidUpdateError),
        ({"task_id": "t0"}, "status", InvalidUpdateError),
        ({"task_id": "", "status": "running"}, "task_id", InvalidUpdateError),
        ({"task_id": 5, "status": "running"}, "task_id", InvalidUpdateError),
        ({"task_id": "t0", "status": "done"}, "status", InvalidUpdateError),
        ({"task_id": "t0", "status": None}, "status", InvalidUpdateError),
        ({"task_id": "t0", "status": "failed", "error": 42}, "error", InvalidUpdateError),
        ({"task_id": "t0", "status": "running", "at": "now"}, "at", InvalidUpdateError),
        ({"task_id": "t0", "status": "running", "at": True}, "at", InvalidUpdateError),
        ({"task_id": "t0", "status": "running", "at": float("inf")}, "at", InvalidUpdateError),
        ({"task_id": "nope", "status": "running"}, "task_id", UnknownTaskError),
    ],
)
def test_bad_update_raises_typed_error_and_changes_nothing(
    update: dict[str, object], field: str, error_type: type[Exception]
) -> None:
    """Each malformed update raises its own error type naming the field; the job is unchanged."""
    job = job_with(1)
    before = job
    with pytest.raises(error_type) as info:
        apply_task_update(job, update)
    assert info.value.field == field  # type: ignore[attr-defined]
    assert field in str(info.value)
    assert job == before


def test_non_mapping_update_is_rejected() -> None:
    """An update that is not a mapping raises InvalidUpdateError."""
    with pytest.raises(InvalidUpdateError) as info:
        apply_task_update(job_with(1), ["t0", "running"])  # type: ignore[arg-type]
    assert info.value.field == "update"


def test_batch_equals_one_at_a_time() -> None:
    """A batch gives exactly the state of applying its updates one by one."""
    updates = [
        {"task_id": "t0", "status": "running", "at": 11.0},
        {"task_id": "t1", "status": "completed", "result": {"k": [1]}, "at": 12.0},
        {"task_id": "t0", "status": "running", "at": 13.0},
        {"task_id": "t0", "status": "failed", "error": "boom", "at": 14.0},
        {"task_id": "t2", "status": "completed", "at": 15.0},
    ]
    sequential = job_with(3)
    for update in updates:
        sequential = apply_task_update(sequential, update)
    assert apply_task_updates(job_with(3), updates) == sequential
    assert sequential.completed_at == 15.0


def test_batch_is_atomic_and_names_first_bad_update() -> None:
    """A bad update mid-batch raises its own error type with index and task id; nothing applies."""
    job = job_with(3)
    updates = [
        {"task_id": "t0", "status": "completed", "at": 11.0},
        {"task_id": "t1", "status": "running", "at": 12.0},
        {"task_id": "t0", "status": "running", "at": 13.0},
        {"task_id": "ghost", "status": "running"},
    ]
    with pytest.raises(InvalidTransitionError) as info:
        apply_task_updates(job, updates)
    assert info.value.index == 2
    assert "update[2]" in str(info.value) and "'t0'" in str(info.value)
    assert job.status_counts["pending"] == 3
    assert all(t.status is TaskStatus.PENDING for t in job.tasks.values())


def test_empty_batch_returns_same_job() -> None:
    """An empty batch returns the very same job."""
    job = job_with(2)
    assert apply_task_updates(job, []) is job


def test_counts_match_a_full_recount_per_round() -> None:
    """Incremental counts per status and per round equal a recount of every task."""
    job = add_tasks(
        new_job("j", "d"),
        [{"task_id": f"t{i}", "agent_name": "a", "round": 1 + i % 3} for i in range(12)],
    )
    job = apply_task_updates(
        job,
        [{"task_id": f"t{i}", "status": STATUSES[1 + i % 3], "at": float(i)} for i in range(9)],
    )
    for round_no in (1, 2, 3):
        recount = {s: 0 for s in STATUSES}
        for task in job.tasks.values():
            if task.round == round_no:
                recount[task.status.value] += 1
        assert dict(job.round_counts[round_no]) == recount
    recount_all = {s: sum(t.status == s for t in job.tasks.values()) for s in STATUSES}
    assert dict(job.status_counts) == recount_all


def test_plain_strings_and_enum_members_are_interchangeable() -> None:
    """Status may be a plain string or a TaskStatus; stored values equal both."""
    job = apply_task_update(job_with(1), {"task_id": "t0", "status": TaskStatus.RUNNING})
    assert job.tasks["t0"].status == "running"
    assert str(job.tasks["t0"].status) == "running"


def _one_at_a_time(job: JobExecution, updates: list[dict[str, object]]) -> JobExecution:
    for update in updates:
        job = apply_task_update(job, update)
    return job


@pytest.mark.parametrize(
    ("before", "updates", "completed_at"),
    [
        # Finished by t1 at 2.0; t0's repeated completion at 3.0 changes nothing.
        (
            [],
            [("t0", "completed", 1.0), ("t1", "completed", 2.0), ("t0", "completed", 3.0)],
            2.0,
        ),
        # t0 finished before the batch: its repeat at 2.0 is not what finishes the job.
        ([("t0", "completed", 0.5)], [("t1", "failed", 1.0), ("t0", "completed", 2.0)], 1.0),
        # t0 named twice, then t1: finished by t1, the last in batch order.
        (
            [],
            [("t0", "running", 1.0), ("t0", "completed", 2.0), ("t1", "completed", 3.0)],
            3.0,
        ),
        # Finished by t0's second update, which comes after t1's.
        (
            [],
            [("t0", "running", 1.0), ("t1", "completed", 2.0), ("t0", "failed", 3.0)],
            3.0,
        ),
    ],
)
def test_job_completes_at_the_update_that_finished_its_last_task(
    before: list[tuple[str, str, float]],
    updates: list[tuple[str, str, float]],
    completed_at: float,
) -> None:
    """A batch that finishes the job stamps the finishing update's time, as one at a time would."""
    job = _one_at_a_time(
        job_with(2), [{"task_id": t, "status": s, "at": at} for t, s, at in before]
    )
    batch = [{"task_id": t, "status": s, "at": at} for t, s, at in updates]
    after = apply_task_updates(job, batch)
    assert after.completed_at == completed_at
    assert after == _one_at_a_time(job, batch)
