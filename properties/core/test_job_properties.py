"""Properties of the job core: batches equal one-at-a-time, counts equal a recount, a model agrees.

The batch property's body, `check_batch_matches_sequential`, lives in
`properties.strategies` so the budget properties and `properties.test_mutants`
run the very same body (the mutants test against deliberately broken reducers).
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from core import (
    InvalidTransitionError,
    InvalidUpdateError,
    JobExecution,
    StateError,
    TaskUpdate,
    UnknownTaskError,
    add_task,
    add_tasks,
    apply_task_update,
    apply_task_updates,
    is_job_complete,
    job_failures,
    job_results,
    new_job,
    summarize_job,
    tasks_in_order,
    thaw,
)
from properties.strategies import (
    STATUS_VALUES,
    TASK_IDS,
    check_batch_matches_sequential,
    jobs,
    jobs_and_updates,
    task_specs,
    timestamps,
    update_lists,
    valid_updates,
)


@given(jobs_and_updates())
def test_task_batch_equals_sequential(case: tuple[JobExecution, list[Any]]) -> None:
    """A batch of task updates gives the one-at-a-time state, or the same error atomically."""
    job, updates = case
    check_batch_matches_sequential(job, updates, apply_task_updates, apply_task_update)


def recount(job: JobExecution) -> tuple[dict[str, int], dict[int, dict[str, int]]]:
    """Count statuses overall and per round by scanning every task."""
    overall = Counter(task.status.value for task in job.tasks.values())
    rounds: dict[int, Counter[str]] = {}
    for task in job.tasks.values():
        rounds.setdefault(task.round, Counter())[task.status.value] += 1
    return (
        {s: overall[s] for s in STATUS_VALUES},
        {r: {s: c[s] for s in STATUS_VALUES} for r, c in rounds.items()},
    )


def stored_counts(job: JobExecution) -> tuple[dict[str, int], dict[int, dict[str, int]]]:
    """The counts the job keeps incrementally."""
    return (
        dict(job.status_counts),
        {r: dict(counts) for r, counts in job.round_counts.items()},
    )


@given(jobs_and_updates())
def test_incremental_counts_equal_full_recount(case: tuple[JobExecution, list[Any]]) -> None:
    """The job's status and round counts equal a full recount after adds, updates and batches."""
    job, updates = case
    assert stored_counts(job) == recount(job)
    accepted = []
    for update in updates:
        try:
            job_after = apply_task_update(job, update)
        except StateError:
            continue
        accepted.append(update)
        job = job_after
        assert stored_counts(job) == recount(job)
    # The accepted updates, batched on the original job, are accepted again.
    batched = apply_task_updates(case[0], accepted)
    assert batched == job
    assert stored_counts(batched) == recount(batched)


@given(jobs(min_tasks=1), st.data())
def test_repeating_current_status_changes_nothing(job: JobExecution, data: st.DataObject) -> None:
    """Reporting a task's current status again, with any result, error or time, changes nothing."""
    task_id = data.draw(st.sampled_from(list(job.task_order)))
    update = data.draw(valid_updates(task_id, job.tasks[task_id].status.value))
    assert apply_task_update(job, update) == job
    assert apply_task_updates(job, [update, update]) == job


# ---------------------------------------------------------------- add_tasks


@st.composite
def _task_spec_lists(draw: st.DrawFn) -> list[Any]:
    specs: list[Any] = []
    for _ in range(draw(st.integers(0, 6))):
        spec = draw(task_specs(draw(st.sampled_from(TASK_IDS))))
        bad = draw(st.sampled_from((None,) * 6 + ("round", "agent_name", "task_id", "key")))
        if bad == "round":
            spec["round"] = draw(st.sampled_from((0, -1, True, 1.0)))
        elif bad in ("agent_name", "task_id"):
            spec[bad] = draw(st.sampled_from(("", None, 3)))
        elif bad == "key":
            spec["status"] = "running"
        specs.append(spec)
    return specs


@given(jobs(), _task_spec_lists())
def test_add_tasks_equals_adding_one_at_a_time(job: JobExecution, specs: list[Any]) -> None:
    """Adding many tasks equals adding them singly; a duplicate or bad task fails it atomically."""
    check_batch_matches_sequential(job, specs, add_tasks, add_task)


# ---------------------------------------------------------------- naive model

_MOVES = {
    ("pending", "running"),
    ("pending", "completed"),
    ("pending", "failed"),
    ("running", "completed"),
    ("running", "failed"),
}
_TERMINAL = {"completed", "failed"}
_KINDS = {
    InvalidUpdateError: "invalid",
    UnknownTaskError: "unknown",
    InvalidTransitionError: "transition",
}


class JobModel:
    """A job as plain dicts, updated by the rules of issue 2 read literally."""

    def __init__(self, created_at: float | None) -> None:
        self.created_at = None if created_at is None else float(created_at)
        self.completed_at: float | None = None
        self.tasks: dict[str, dict[str, Any]] = {}

    def add(self, spec: Mapping[str, Any]) -> None:
        self.tasks[spec["task_id"]] = {
            "agent_name": spec["agent_name"],
            "input_data": spec.get("input_data"),
            "round": spec.get("round", 1),
            "status": "pending",
            "result": None,
            "error": None,
            "started_at": None,
            "completed_at": None,
        }
        self.completed_at = None

    def complete(self) -> bool:
        return bool(self.tasks) and all(t["status"] in _TERMINAL for t in self.tasks.values())

    def apply(self, raw: Any) -> str | None:
        """Apply one update; return the kind of error it should raise, or None."""
        if isinstance(raw, TaskUpdate):
            raw = raw._asdict()
        if not isinstance(raw, Mapping):
            return "invalid"
        if set(raw) - {"task_id", "status", "result", "error", "at"}:
            return "invalid"
        task_id, status = raw.get("task_id"), raw.get("status")
        error, at = raw.get("error"), raw.get("at")
        if not (isinstance(task_id, str) and task_id) or status not in STATUS_VALUES:
            return "invalid"
        if not isinstance(status, str) or (error is not None and not isinstance(error, str)):
            return "invalid"
        if at is not None and (
            type(at) not in (int, float) or not math.isfinite(at)  # bool is not a time
        ):
            return "invalid"
        if task_id not in self.tasks:
            return "unknown"
        task = self.tasks[task_id]
        status = str(status.value if hasattr(status, "value") else status)
        if status == task["status"]:
            return None
        if (task["status"], status) not in _MOVES:
            return "transition"
        at = None if at is None else float(at)
        task["status"] = status
        if raw.get("result") is not None:
            task["result"] = raw["result"]
        if error is not None:
            task["error"] = error
        if status == "running" and task["started_at"] is None:
            task["started_at"] = at
        if status in _TERMINAL:
            task["completed_at"] = at
            if self.complete():
                self.completed_at = at
        return None

    def summary(self, job_id: str, description: str) -> dict[str, Any]:
        statuses = [t["status"] for t in self.tasks.values()]
        rounds: dict[int, dict[str, int]] = {}
        for task in self.tasks.values():
            entry = rounds.setdefault(task["round"], dict.fromkeys((*STATUS_VALUES, "total"), 0))
            entry[task["status"]] += 1
            entry["total"] += 1
        duration = None
        if self.created_at is not None and self.completed_at is not None:
            duration = self.completed_at - self.created_at
        return {
            "job_id": job_id,
            "description": description,
            "total_tasks": len(statuses),
            "pending_tasks": statuses.count("pending"),
            "running_tasks": statuses.count("running"),
            "completed_tasks": statuses.count("completed"),
            "failed_tasks": statuses.count("failed"),
            "is_complete": self.complete(),
            "created_at": self.created_at,
            "completed_at": self.completed_at,
            "duration": duration,
            "rounds": dict(sorted(rounds.items())),
        }

    def rows(self, status: str, extra: str) -> list[dict[str, Any]]:
        rows = []
        for task_id, t in self.tasks.items():
            if t["status"] != status:
                continue
            duration = None
            if t["started_at"] is not None and t["completed_at"] is not None:
                duration = t["completed_at"] - t["started_at"]
            rows.append(
                {
                    "task_id": task_id,
                    "agent_name": t["agent_name"],
                    "input_data": t["input_data"],
                    "round": t["round"],
                    "started_at": t["started_at"],
                    "completed_at": t["completed_at"],
                    "duration": duration,
                    extra: t[extra],
                }
            )
        return rows


def _assert_agrees(job: JobExecution, model: JobModel) -> None:
    assert [t.task_id for t in tasks_in_order(job)] == list(model.tasks)
    for task in tasks_in_order(job):
        expected = model.tasks[task.task_id]
        got = task._asdict()
        got["status"] = task.status.value
        got["result"] = thaw(task.result)
        got["input_data"] = thaw(task.input_data)
        del got["task_id"]
        assert got == expected, task.task_id
    assert summarize_job(job) == model.summary(job.job_id, job.description)
    assert is_job_complete(job) == model.complete()
    assert job_results(job) == model.rows("completed", "result")
    assert job_failures(job) == model.rows("failed", "error")


@given(
    st.none() | timestamps,
    st.lists(st.lists(st.sampled_from(TASK_IDS), unique=True, max_size=4), max_size=3),
    st.data(),
)
def test_job_matches_naive_model(
    created_at: float | None, chunks: list[list[str]], data: st.DataObject
) -> None:
    """Tasks, summary, completion and result rows equal a plain-dict model of the lifecycle."""
    job = new_job("job", "audience", created_at)
    model = JobModel(created_at)
    for chunk in chunks:
        fresh = [task_id for task_id in dict.fromkeys(chunk) if task_id not in model.tasks]
        specs = [data.draw(task_specs(task_id)) for task_id in fresh]
        job = add_tasks(job, specs)
        for spec in specs:
            model.add(spec)
        _assert_agrees(job, model)
        for update in data.draw(update_lists(job)):
            kind = model.apply(update)
            try:
                job = apply_task_update(job, update)
            except StateError as err:
                assert _KINDS.get(type(err)) == kind, (update, err)
            else:
                assert kind is None, (update, kind)
            _assert_agrees(job, model)


@given(
    st.none() | timestamps,
    st.lists(st.sampled_from(TASK_IDS), unique=True, min_size=1, max_size=6),
    st.data(),
)
def test_batches_match_naive_model(
    created_at: float | None, task_ids: list[str], data: st.DataObject
) -> None:
    """A batch equals a plain-dict model fed one update at a time, or fails as its first bad one."""
    job = new_job("job", "audience", created_at)
    model = JobModel(created_at)
    specs = [data.draw(task_specs(task_id)) for task_id in task_ids]
    job = add_tasks(job, specs)
    for spec in specs:
        model.add(spec)
    for _ in range(3):
        batch = data.draw(update_lists(job, max_size=12))
        trial = copy.deepcopy(model)
        kind = next((k for k in map(trial.apply, batch) if k is not None), None)
        try:
            after = apply_task_updates(job, batch)
        except StateError as err:
            assert _KINDS.get(type(err)) == kind, (batch, err)
        else:
            assert kind is None, (batch, kind)
            job, model = after, trial
        _assert_agrees(job, model)
