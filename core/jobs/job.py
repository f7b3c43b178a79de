"""The job execution: one audience description and the agent tasks run for it.

A job keeps its per-status counts (overall and per round) current as reducers
change it, so a summary costs O(1) in the number of tasks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from core.batch_args import check_state
from core.errors import DuplicateTaskError, InvalidTaskError, describe
from core.frozen import FrozenDict
from core.jobs._codec import reduce_job
from core.jobs._table import TaskTable, empty_task_table
from core.jobs.ids import check_id
from core.jobs.status import TaskStatus
from core.jobs.task import TaskRecord, iter_task_records
from core.timestamps import epoch_seconds

__all__ = [
    "STATUS_KEYS",
    "Counts",
    "JobExecution",
    "add_task",
    "add_tasks",
    "is_job_complete",
    "new_job",
    "tasks_in_order",
    "with_round_counts",
]

STATUS_KEYS: tuple[str, ...] = tuple(s.value for s in TaskStatus)
#: Tasks per status value: an immutable dict, read and rebuilt at C speed (a job
#: moves its counts on every batch; four keys need no structural sharing).
Counts = FrozenDict
_ZERO_COUNTS: Counts = FrozenDict(dict.fromkeys(STATUS_KEYS, 0))
_NO_ROUNDS: FrozenDict = FrozenDict()


class JobExecution(NamedTuple):
    """An immutable job and its tasks; make one with `new_job`.

    Attributes:
        job_id: Identifier of the job.
        description: The audience description the job researches.
        created_at: Epoch seconds the caller gave at creation, or None.
        completed_at: When the last task reached a terminal status, or None.
        tasks: Tasks keyed by task id, in insertion order (a `TaskTable`).
        status_counts: Number of tasks per status value (a `Counts`).
        round_counts: Per round, the number of tasks per status value (an immutable
            dict of `Counts`: a job has few rounds, so a batch copies it whole, in C).
    """

    job_id: str
    description: str
    created_at: float | None
    completed_at: float | None
    tasks: TaskTable
    status_counts: Counts
    round_counts: FrozenDict

    @property
    def task_order(self) -> tuple[str, ...]:
        """Task ids in insertion order (built on each call: O(n))."""
        return tuple(self.tasks)

    def __reduce__(self) -> tuple[Any, ...]:
        # Speed machinery (columns, the collector paused) lives in the private codec.
        return reduce_job(self)


def with_round_counts(job: JobExecution, changed: Mapping[int, Mapping[str, int]]) -> FrozenDict:
    """Return the job's ``round_counts`` with the rounds in ``changed`` given these counts.

    O(rounds), in C: a job has few rounds, so the whole dict is copied.
    """
    return FrozenDict({**job.round_counts, **{r: FrozenDict(c) for r, c in changed.items()}})


def new_job(job_id: str, description: str, created_at: float | None = None) -> JobExecution:
    """Return an empty job.

    Args:
        job_id: Non-empty identifier.
        description: The audience description.
        created_at: Epoch seconds; the shell passes its clock's reading.

    Raises:
        InvalidTaskError: a field has the wrong type or value.
    """
    check_id(job_id, "job_id", InvalidTaskError)
    if not isinstance(description, str):
        raise InvalidTaskError(
            f"description must be a str, got {describe(description)}",
            field="description",
            value=description,
        )
    return JobExecution(
        job_id,
        description,
        epoch_seconds(created_at, "created_at", InvalidTaskError),
        None,
        empty_task_table(),
        _ZERO_COUNTS,
        _NO_ROUNDS,
    )


def is_job_complete(job: JobExecution) -> bool:
    """True when the job has at least one task and every task is completed or failed."""
    check_state(job, JobExecution, "job")
    counts = job.status_counts
    return bool(job.tasks) and counts["pending"] == 0 and counts["running"] == 0


def tasks_in_order(job: JobExecution) -> tuple[TaskRecord, ...]:
    """Return the job's tasks in the order they were added."""
    check_state(job, JobExecution, "job")
    return tuple(job.tasks.records)


def add_task(job: JobExecution, task: TaskRecord | Mapping[str, Any]) -> JobExecution:
    """Return the job with one more task.

    Raises:
        DuplicateTaskError: the job already has a task with this id.
        InvalidTaskError: the task is malformed.
    """
    return add_tasks(job, (task,))


def add_tasks(job: JobExecution, tasks: Iterable[TaskRecord | Mapping[str, Any]]) -> JobExecution:
    """Return the job with the given tasks appended, all or none.

    Args:
        job: The job to extend.
        tasks: `TaskRecord`s or mappings ``{"task_id", "agent_name", "input_data", "round"}``.

    Raises:
        DuplicateTaskError: an id is already in the job or repeats within ``tasks``;
            the message names its position.
        InvalidTaskError: a task is malformed; the message names its position.
    """
    check_state(job, JobExecution, "job")
    records: list[TaskRecord] = []
    seen: set[str] = set()
    for index, record in enumerate(iter_task_records(tasks)):
        if record.task_id in job.tasks or record.task_id in seen:
            raise DuplicateTaskError(
                f"job {describe(job.job_id)} already has a task "
                f"with task_id {describe(record.task_id)}",
                field="task_id",
                value=record.task_id,
            ).in_batch(index, record.task_id, item="task")
        seen.add(record.task_id)
        records.append(record)
    if not records:
        return job

    counts = dict(job.status_counts)
    rounds: dict[int, dict[str, int]] = {}
    for record in records:
        counts[record.status.value] += 1
        if record.round not in rounds:
            rounds[record.round] = dict(job.round_counts.get(record.round, _ZERO_COUNTS))
        rounds[record.round][record.status.value] += 1
    new = job._replace(
        tasks=job.tasks.appended(records),
        status_counts=FrozenDict(counts),
        round_counts=with_round_counts(job, rounds),
    )
    if not is_job_complete(new):
        new = new._replace(completed_at=None)
    return new
