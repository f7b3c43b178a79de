"""Task update reducers: apply one status report, or a batch of them atomically."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from pyrsistent import pmap

from core.errors import InvalidUpdateError, StateError, UnknownTaskError
from core.frozen import freeze
from core.job import JobExecution
from core.status import TaskStatus, check_transition, parse_status
from core.task import TaskRecord

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
        update: ``{"task_id", "status", optional "result", "error", "at"}``.

    Raises:
        InvalidUpdateError: not a mapping, an unknown or missing key, or a wrong type.
    """
    if isinstance(update, TaskUpdate):
        update = update._asdict()
    if not isinstance(update, Mapping):
        raise InvalidUpdateError(
            f"update must be a mapping, got {type(update).__name__}: {update!r}",
            field="update",
            value=update,
        )
    for key in update:
        if key not in _ALLOWED_KEYS:
            raise InvalidUpdateError(
                f"unknown update key {key!r}; allowed keys are {sorted(_ALLOWED_KEYS)}",
                field=str(key),
                value=update[key],
            )
    for key in ("task_id", "status"):
        if key not in update:
            raise InvalidUpdateError(f"update is missing required key {key!r}", field=key)
    task_id = update["task_id"]
    if not isinstance(task_id, str) or not task_id:
        raise InvalidUpdateError(
            f"task_id must be a non-empty str, got {task_id!r}", field="task_id", value=task_id
        )
    status = parse_status(update["status"])
    error = update.get("error")
    if error is not None and not isinstance(error, str):
        raise InvalidUpdateError(
            f"error must be a str or None, got {error!r}", field="error", value=error
        )
    at = update.get("at")
    if at is not None and (
        isinstance(at, bool) or not isinstance(at, (int, float)) or not math.isfinite(at)
    ):
        raise InvalidUpdateError(
            f"at must be finite epoch seconds or None, got {at!r}", field="at", value=at
        )
    return TaskUpdate(
        task_id, status, freeze(update.get("result")), error, None if at is None else float(at)
    )


def _next_record(task: TaskRecord, update: TaskUpdate) -> TaskRecord | None:
    """Return the task after ``update``, or None when it changes nothing.

    Raises:
        InvalidTransitionError: the lifecycle forbids the move.
    """
    check_transition(task.task_id, task.status, update.status)
    if update.status is task.status:
        # Pollers repeat the current status; the first timestamps must survive.
        return None
    started_at = task.started_at
    completed_at = task.completed_at
    if update.status is TaskStatus.RUNNING and started_at is None:
        started_at = update.at
    if update.status.is_terminal:
        completed_at = update.at
    return task._replace(
        status=update.status,
        result=task.result if update.result is None else update.result,
        error=task.error if update.error is None else update.error,
        started_at=started_at,
        completed_at=completed_at,
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
    task_map = tasks.evolver()
    counts: dict[str, int] | None = None
    rounds: dict[int, dict[str, int]] = {}
    unfinished = job.status_counts["pending"] + job.status_counts["running"]
    completed_at = job.completed_at
    for index, raw in enumerate(updates):
        try:
            update = parse_update(raw)
            if update.task_id not in tasks:
                raise UnknownTaskError(
                    f"job {job.job_id!r} has no task with task_id {update.task_id!r}",
                    field="task_id",
                    value=update.task_id,
                )
            task = task_map[update.task_id]
            changed = _next_record(task, update)
        except StateError as err:
            if not in_batch:
                raise
            ident = raw.get("task_id") if isinstance(raw, Mapping) else None
            raise err.in_batch(index, ident) from err
        if changed is None:
            continue
        task_map[update.task_id] = changed
        if counts is None:
            counts = dict(job.status_counts)
        old_key, new_key = task.status.value, changed.status.value
        counts[old_key] -= 1
        counts[new_key] += 1
        if task.round not in rounds:
            rounds[task.round] = dict(job.round_counts[task.round])
        round_counts = rounds[task.round]
        round_counts[old_key] -= 1
        round_counts[new_key] += 1
        if changed.status.is_terminal:
            unfinished -= 1
            if unfinished == 0:
                completed_at = update.at
    if counts is None:
        return job
    return job._replace(
        tasks=task_map.persistent(),
        status_counts=pmap(counts),
        round_counts=job.round_counts.update({r: pmap(c) for r, c in rounds.items()}),
        completed_at=completed_at,
    )
