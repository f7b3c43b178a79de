"""Task update reducers: apply one status report, or a batch of them atomically."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from pyrsistent import pmap

from core.errors import InvalidUpdateError, StateError, UnknownTaskError
from core.frozen import freeze
from core.job import JobExecution
from core.status import (
    ALLOWED_TRANSITIONS,
    STATUS_BY_VALUE,
    TERMINAL_STATUSES,
    TaskStatus,
    check_transition,
    parse_status,
)
from core.task import TaskRecord
from core.timestamps import epoch_seconds

__all__ = [
    "OPTIONAL_UPDATE_KEYS",
    "REQUIRED_UPDATE_KEYS",
    "TaskUpdate",
    "apply_task_update",
    "apply_task_updates",
    "parse_update",
]

REQUIRED_UPDATE_KEYS = frozenset({"task_id", "status"})
OPTIONAL_UPDATE_KEYS = frozenset({"result", "error", "at"})
_ALLOWED_KEYS = REQUIRED_UPDATE_KEYS | OPTIONAL_UPDATE_KEYS
_MISSING: Any = object()
_new_tuple = tuple.__new__


class TaskUpdate(NamedTuple):
    """A validated status report for one task."""

    task_id: str
    status: TaskStatus
    result: Any = None
    error: str | None = None
    at: float | None = None


def parse_update(update: Mapping[str, Any] | TaskUpdate) -> TaskUpdate:
    """Validate an update mapping and return it as a `TaskUpdate`.

    Args:
        update: ``{"task_id", "status", optional "result", "error", "at"}``, or a
            `TaskUpdate` (checked again: anyone can build one by hand).

    Raises:
        InvalidUpdateError: not a mapping, an unknown or missing key, or a wrong type.
    """
    if isinstance(update, TaskUpdate):
        return _checked(*update)
    if not isinstance(update, Mapping):
        raise InvalidUpdateError(
            f"update must be a mapping, got {type(update).__name__}: {update!r}",
            field="update",
            value=update,
        )
    if not _ALLOWED_KEYS.issuperset(update):
        key = next(k for k in update if k not in _ALLOWED_KEYS)
        raise InvalidUpdateError(
            f"unknown update key {key!r}; allowed keys are {sorted(_ALLOWED_KEYS)}",
            field=str(key),
            value=update[key],
        )
    get = update.get
    task_id = get("task_id", _MISSING)
    status = get("status", _MISSING)
    for key, value in (("task_id", task_id), ("status", status)):
        if value is _MISSING:
            raise InvalidUpdateError(f"update is missing required key {key!r}", field=key)
    return _checked(task_id, status, get("result"), get("error"), get("at"))


def _checked(task_id: Any, status: Any, result: Any, error: Any, at: Any) -> TaskUpdate:
    """Return a `TaskUpdate` after checking each field's type and value."""
    if not isinstance(task_id, str) or not task_id:
        raise InvalidUpdateError(
            f"task_id must be a non-empty str, got {task_id!r}", field="task_id", value=task_id
        )
    parsed_status = STATUS_BY_VALUE.get(status) if isinstance(status, str) else None
    if parsed_status is None:
        parsed_status = parse_status(status)
    if error is not None and not isinstance(error, str):
        raise InvalidUpdateError(
            f"error must be a str or None, got {error!r}", field="error", value=error
        )
    at = epoch_seconds(at, "at", InvalidUpdateError)
    if result is not None and type(result) is not str:
        result = freeze(result)
    return _new_tuple(TaskUpdate, (task_id, parsed_status, result, error, at))


def _next_record(task: TaskRecord, update: TaskUpdate) -> TaskRecord | None:
    """Return the task after ``update``, or None when it changes nothing.

    Raises:
        InvalidTransitionError: the lifecycle forbids the move.
    """
    task_id, agent_name, input_data, current, result, error, started_at, completed_at, round_no = (
        task
    )
    _, status, new_result, new_error, at = update
    if status is current:
        # Pollers repeat the current status; the first timestamps must survive.
        return None
    if status not in ALLOWED_TRANSITIONS[current]:
        check_transition(task_id, current, status)
    if status is TaskStatus.RUNNING and started_at is None:
        started_at = at
    if status in TERMINAL_STATUSES:
        completed_at = at
    return _new_tuple(
        TaskRecord,
        (
            task_id,
            agent_name,
            input_data,
            status,
            result if new_result is None else new_result,
            error if new_error is None else new_error,
            started_at,
            completed_at,
            round_no,
        ),
    )


def apply_task_update(job: JobExecution, update: Mapping[str, Any] | TaskUpdate) -> JobExecution:
    """Return the job after one task update.

    Args:
        job: The current job.
        update: ``{"task_id", "status", optional "result", "error", "at"}``.

    Raises:
        InvalidUpdateError: the update is malformed.
        UnknownTaskError: the job has no task with this id.
        InvalidTransitionError: the task may not move to this status.
    """
    return _apply(job, (update,), in_batch=False)


def apply_task_updates(
    job: JobExecution, updates: Iterable[Mapping[str, Any] | TaskUpdate]
) -> JobExecution:
    """Return the job after a batch of updates, applied in order, all or none.

    The result equals applying each update in turn with `apply_task_update`.

    Raises:
        StateError: the same error type the first bad update would raise on its
            own, with a message naming its index and task id; ``job`` is unchanged.
    """
    return _apply(job, updates, in_batch=True)


def _apply(
    job: JobExecution, updates: Iterable[Mapping[str, Any] | TaskUpdate], *, in_batch: bool
) -> JobExecution:
    tasks = job.tasks
    # Records changed so far, so a task updated twice in one batch sees its
    # own earlier update; merged into the persistent map once, at the end.
    changed: dict[str, TaskRecord] = {}
    counts: dict[str, int] | None = None
    rounds: dict[int, dict[str, int]] = {}
    unfinished = job.status_counts["pending"] + job.status_counts["running"]
    completed_at = job.completed_at
    for index, raw in enumerate(updates):
        try:
            update = parse_update(raw)
            task_id = update.task_id
            task = changed.get(task_id) or tasks.get(task_id)
            if task is None:
                raise UnknownTaskError(
                    f"job {job.job_id!r} has no task with task_id {task_id!r}",
                    field="task_id",
                    value=task_id,
                )
            record = _next_record(task, update)
        except StateError as err:
            if not in_batch:
                raise
            ident = raw.get("task_id") if isinstance(raw, Mapping) else None
            raise err.in_batch(index, ident) from err
        if record is None:
            continue
        changed[task_id] = record
        if counts is None:
            counts = dict(job.status_counts)
        # A TaskStatus is a str equal to its value, so it indexes the str-keyed
        # counts directly (reading .value goes through a slow descriptor).
        old_key, new_key = task.status, record.status
        counts[old_key] -= 1
        counts[new_key] += 1
        round_counts = rounds.get(task.round)
        if round_counts is None:
            round_counts = rounds[task.round] = dict(job.round_counts[task.round])
        round_counts[old_key] -= 1
        round_counts[new_key] += 1
        if record.status in TERMINAL_STATUSES:
            unfinished -= 1
            if unfinished == 0:
                completed_at = update.at
    if counts is None:
        return job
    task_map = tasks.evolver()
    for task_id, record in changed.items():
        task_map[task_id] = record
    return job._replace(
        tasks=task_map.persistent(),
        status_counts=pmap(counts),
        round_counts=job.round_counts.update({r: pmap(c) for r, c in rounds.items()}),
        completed_at=completed_at,
    )
