"""Task update reducers: apply one status report, or a batch of them atomically."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from pyrsistent import pmap
from pyrsistent.typing import PMap

from core.batch_args import check_state
from core.errors import StateError, UnknownTaskError, describe
from core.jobs._columns import UpdateColumns, to_update_columns, update_list
from core.jobs.job import STATUS_KEYS, JobExecution
from core.jobs.status import ALLOWED_TRANSITIONS, TERMINAL_STATUSES, TaskStatus, check_transition
from core.jobs.task import TaskRecord, moved_record
from core.jobs.task_update import (
    OPTIONAL_UPDATE_KEYS,
    REQUIRED_UPDATE_KEYS,
    TaskUpdate,
    parse_update,
)
from core.jobs.update_batch import UpdateBatch, batch_columns, parse_updates, trusted_columns

__all__ = [
    "OPTIONAL_UPDATE_KEYS",
    "REQUIRED_UPDATE_KEYS",
    "TaskUpdate",
    "TaskUpdates",
    "UpdateBatch",
    "apply_task_update",
    "apply_task_updates",
    "parse_update",
    "parse_updates",
]

_new_tuple = tuple.__new__
_RUNNING = TaskStatus.RUNNING

#: What the batch reducers accept: update mappings or `TaskUpdate`s, or an `UpdateBatch`.
TaskUpdates = Iterable[Mapping[str, Any] | TaskUpdate] | UpdateBatch


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
    check_state(job, JobExecution, "job")
    columns = _new_tuple(UpdateColumns, tuple((field,) for field in parse_update(update)))
    return _apply_columns(job, columns, in_batch=False)


def apply_task_updates(job: JobExecution, updates: TaskUpdates) -> JobExecution:
    """Return the job after a batch of updates, applied in order, all or none. O(batch).

    The result equals applying each update in turn with `apply_task_update`.
    A batch `parse_updates` made in this process is applied without a second
    check; anything else (mappings, hand-built `TaskUpdate`s, a batch that
    was unpickled) is validated here first.

    Args:
        job: The current job.
        updates: Update mappings or `TaskUpdate`s, or an `UpdateBatch`.

    Raises:
        StateError: the same error type the first bad update would raise on its
            own, with a message naming its index and task id; ``job`` is unchanged.
    """
    check_state(job, JobExecution, "job")
    columns = trusted_columns(updates)
    if columns is None:
        columns = _validated(job, updates)
    return _apply_columns(job, columns, in_batch=True)


def _validated(job: JobExecution, updates: Any) -> UpdateColumns:
    """Validate a batch that is not trusted, raising the error applying it in order would raise."""
    raw = batch_columns(updates)
    if raw is not None:
        updates = raw
    elif not isinstance(updates, UpdateColumns):
        updates = update_list(updates)
    try:
        return to_update_columns(updates)
    except StateError as err:
        # Applied one by one, an earlier valid update that cannot be applied
        # (unknown task, forbidden move) would fail first: its error wins.
        if err.index:
            _apply_columns(job, to_update_columns(_head(updates, err.index)), in_batch=True)
        raise


def _head(updates: Any, count: int) -> Any:
    """Return the first ``count`` updates of a batch, in the batch's own form."""
    if isinstance(updates, UpdateColumns):
        return _new_tuple(UpdateColumns, tuple(tuple(column)[:count] for column in updates))
    return updates[:count]


def _located(err: StateError, index: int, task_id: str, in_batch: bool) -> StateError:
    return err.in_batch(index, task_id) if in_batch else err


def _apply_columns(job: JobExecution, columns: UpdateColumns, *, in_batch: bool) -> JobExecution:
    """Apply validated columns in order; the one loop every update goes through. O(batch)."""
    # The draft reads the batch's records by task id and takes the new ones back
    # in the batch's order; the job is untouched until the end.
    draft = job.tasks.evolver()
    task_ids = columns.task_ids
    found = draft.get_many(task_ids)
    # A task named twice must see its own earlier update: track the latest records.
    latest: dict[str, TaskRecord] | None = {} if len(set(task_ids)) < len(task_ids) else None
    # (round, old status, new status) of every change, counted once at the end.
    moves: list[tuple[int, TaskStatus, TaskStatus]] = []
    unfinished = job.status_counts["pending"] + job.status_counts["running"]
    completed_at = job.completed_at
    rows = zip(found, *columns, strict=True)
    for index, (task, task_id, status, new_result, new_error, at) in enumerate(rows):
        if latest is not None and task is not None:
            task = found[index] = latest.get(task_id, task)
        if task is None:
            missing = UnknownTaskError(
                f"job {describe(job.job_id)} has no task with task_id {describe(task_id)}",
                field="task_id",
                value=task_id,
            )
            raise _located(missing, index, task_id, in_batch)
        # One unpack instead of six field reads (each a descriptor call, ~35 ns per
        # update); it raises, never misaligns, if TaskRecord gains a field.
        _, _, _, current, result, error, started_at, done_at, round_no = task
        if status is current:
            # Pollers repeat the current status; the first timestamps must survive.
            continue
        if status not in ALLOWED_TRANSITIONS[current]:
            try:
                check_transition(task_id, current, status)
            except StateError as err:
                raise _located(err, index, task_id, in_batch) from err
        if status is _RUNNING:
            if started_at is None:
                started_at = at
        elif status in TERMINAL_STATUSES:
            done_at = at
            unfinished -= 1
            if unfinished == 0:
                completed_at = at
        if new_result is not None:
            result = new_result
        if new_error is not None:
            error = new_error
        found[index] = new = moved_record(task, status, result, error, started_at, done_at)
        if latest is not None:
            latest[task_id] = new
        moves.append((round_no, current, status))
    if not moves:
        return job
    status_counts, round_counts = _moved_counts(job, moves)
    draft.set_many(found)  # type: ignore[arg-type]  # no None left: an unknown id raised
    return job._replace(
        tasks=draft.persistent(),
        status_counts=status_counts,
        round_counts=round_counts,
        completed_at=completed_at,
    )


def _moved_counts(
    job: JobExecution, moves: list[tuple[int, TaskStatus, TaskStatus]]
) -> tuple[PMap[str, int], PMap[int, PMap[str, int]]]:
    """Return the job's status counts, overall and per round, after these status moves."""
    # A batch holds few distinct (round, from, to) moves: counting them once
    # in C is cheaper than four dict writes per update.
    counts = _counts_dict(job.status_counts)
    rounds: dict[int, dict[str, int]] = {}
    for (round_no, old, new), times in Counter(moves).items():
        # A TaskStatus is a str equal to its value, so it indexes the str-keyed counts.
        counts[old] -= times
        counts[new] += times
        per_round = rounds.get(round_no)
        if per_round is None:
            per_round = rounds[round_no] = _counts_dict(job.round_counts[round_no])
        per_round[old] -= times
        per_round[new] += times
    if len(rounds) == 1:  # the usual batch: one set, no evolver
        ((round_no, per_round),) = rounds.items()
        return pmap(counts), job.round_counts.set(round_no, pmap(per_round))
    return pmap(counts), job.round_counts.update({r: pmap(c) for r, c in rounds.items()})


def _counts_dict(counts: PMap[str, int]) -> dict[str, int]:
    # Four key lookups beat dict(counts), which walks the map in Python (~3x slower).
    return {key: counts[key] for key in STATUS_KEYS}
