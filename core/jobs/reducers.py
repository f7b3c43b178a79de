"""Task update reducers: apply one status report, or a batch of them atomically."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import compress, repeat
from operator import is_not
from typing import Any

from core.batch_args import check_state
from core.errors import StateError, UnknownTaskError, describe
from core.frozen import FrozenDict
from core.jobs._columns import UpdateColumns, to_update_columns, update_list
from core.jobs._table import TaskTableEvolver
from core.jobs.job import Counts, JobExecution, with_round_counts
from core.jobs.status import ALLOWED_TRANSITIONS, TERMINAL_STATUSES, TaskStatus, check_transition
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
    """Apply validated columns in order, all or none; the one step every update goes through.

    O(batch). A batch of known, distinct tasks whose every move the lifecycle
    allows is applied a field at a time (`_apply_distinct`); any other batch
    (a task named twice, an unknown task, a forbidden move) update by update,
    which also names the first update that cannot be applied.
    """
    task_ids = columns.task_ids
    if not task_ids:
        return job
    draft = job.tasks.evolver()
    unknown = draft.select(task_ids)
    if unknown is None and len(set(task_ids)) == len(task_ids):
        applied = _apply_distinct(job, draft, columns)
        if applied is not None:
            return applied
    return _apply_in_order(job, draft, columns, in_batch)


def _apply_distinct(
    job: JobExecution, draft: TaskTableEvolver, columns: UpdateColumns
) -> JobExecution | None:
    """Apply a batch of distinct, known tasks field by field; None when a move is forbidden.

    The bulk form of `_apply_in_order`'s rules, equal to it (each task is
    named once, so no update sees another's result; the batching properties
    check the two agree), at C speed per field.
    """
    statuses: Sequence[TaskStatus]
    results: Sequence[Any]
    errors: Sequence[str | None]
    ats: Sequence[float | None]
    _, statuses, results, errors, ats = columns
    currents = draft.read("status")
    # The lifecycle is checked once per distinct (from, to) pair: a batch holds few.
    target = statuses[0]
    if statuses.count(target) == len(statuses):
        # One status for the whole batch (a round of completions): pair it with each current.
        pairs = set(zip(set(currents), repeat(target)))
    else:
        pairs = set(zip(currents, statuses, strict=True))
    if not all(new is old or new in ALLOWED_TRANSITIONS[old] for old, new in pairs):
        return None  # the in-order path raises the first forbidden move's error
    if any(new is old for old, new in pairs):
        # Pollers repeat the current status: such an update changes nothing at all.
        keep = list(map(is_not, currents, statuses))
        draft.narrow(keep)
        currents, statuses, results, errors, ats = (
            list(compress(column, keep)) for column in (currents, statuses, results, errors, ats)
        )
        pairs = {pair for pair in pairs if pair[0] is not pair[1]}
        if not pairs:
            return job
    targets = {new for _, new in pairs}
    draft.write("status", statuses)
    _write_given(draft, "result", results)
    _write_given(draft, "error", errors)
    if _RUNNING in targets:
        started = draft.read("started_at")
        draft.write("started_at", map(_started, statuses, started, ats))
    unfinished = job.status_counts["pending"] + job.status_counts["running"]
    completed_at = job.completed_at
    if targets <= TERMINAL_STATUSES:
        draft.write("completed_at", ats)
        finished = len(statuses)
    elif targets & TERMINAL_STATUSES:
        terminal = list(map(TERMINAL_STATUSES.__contains__, statuses))
        draft.write("completed_at", ats, terminal)
        finished = sum(terminal)
    else:
        finished = 0
    if finished and finished == unfinished:
        # The job finishes with its last terminal move, as it would one update at a time.
        last = max(i for i, status in enumerate(statuses) if status in TERMINAL_STATUSES)
        completed_at = ats[last]
    if len(job.round_counts) == 1:
        # Every task is in the one round: no need to read the rounds.
        (round_no,) = job.round_counts
        if len(pairs) == 1:
            ((old, new),) = pairs
            moves: Mapping[tuple[int, TaskStatus, TaskStatus], int] = {
                (round_no, old, new): len(statuses)
            }
        else:
            moves = Counter(zip(repeat(round_no), currents, statuses))
    else:
        moves = Counter(zip(draft.read("round"), currents, statuses, strict=True))
    status_counts, round_counts = _moved_counts(job, moves)
    return job._replace(
        tasks=draft.persistent(),
        status_counts=status_counts,
        round_counts=round_counts,
        completed_at=completed_at,
    )


def _started(status: TaskStatus, started_at: float | None, at: float | None) -> float | None:
    return at if status is _RUNNING and started_at is None else started_at


def _write_given(draft: TaskTableEvolver, field: str, values: Sequence[Any]) -> None:
    """Write the values that are not None (None leaves a field as it was)."""
    unset = values.count(None)
    if unset == len(values):
        return
    if unset:
        draft.write(field, values, map(is_not, values, repeat(None)))
    else:
        draft.write(field, values)


def _apply_in_order(
    job: JobExecution, draft: TaskTableEvolver, columns: UpdateColumns, in_batch: bool
) -> JobExecution:
    """Apply the updates one at a time, in order; raise the first one's error that cannot apply.

    ``draft`` has the batch's rows selected, unknown ids included.
    """
    fields = ("status", "result", "error", "started_at", "completed_at")
    now = [draft.read(field) for field in fields]  # each row's fields, updated as we go
    rounds = draft.read("round")
    task_ids = columns.task_ids
    # A task named twice must see its own earlier update: its latest row.
    latest: dict[str, int] | None = {} if len(set(task_ids)) < len(task_ids) else None
    changed = [False] * len(task_ids)
    moves: list[tuple[int, TaskStatus, TaskStatus]] = []
    unfinished = job.status_counts["pending"] + job.status_counts["running"]
    completed_at = job.completed_at
    rows = enumerate(zip(*columns, strict=True))
    for index, (task_id, status, new_result, new_error, at) in rows:
        if rounds[index] is None:  # every task has a round: no row, no task
            missing = UnknownTaskError(
                f"job {describe(job.job_id)} has no task with task_id {describe(task_id)}",
                field="task_id",
                value=task_id,
            )
            raise _located(missing, index, task_id, in_batch)
        row = index
        if latest is not None:
            row = latest.get(task_id, index)
        current, result, error, started_at, done_at = (field[row] for field in now)
        if status is current:
            # Pollers repeat the current status; the first timestamps must survive.
            continue
        if status not in ALLOWED_TRANSITIONS[current]:
            try:
                check_transition(task_id, current, status)
            except StateError as err:
                raise _located(err, index, task_id, in_batch) from err
        started_at = _started(status, started_at, at)
        if status in TERMINAL_STATUSES:
            done_at = at
            unfinished -= 1
            if unfinished == 0:
                completed_at = at
        if new_result is not None:
            result = new_result
        if new_error is not None:
            error = new_error
        for values, value in zip(now, (status, result, error, started_at, done_at), strict=True):
            values[index] = value
        changed[index] = True
        if latest is not None:
            latest[task_id] = index
        moves.append((rounds[index], current, status))
    if not moves:
        return job
    # Rows are written in order: a task named twice keeps its last change.
    for name, values in zip(fields, now, strict=True):
        draft.write(name, values, changed)
    status_counts, round_counts = _moved_counts(job, Counter(moves))
    return job._replace(
        tasks=draft.persistent(),
        status_counts=status_counts,
        round_counts=round_counts,
        completed_at=completed_at,
    )


def _moved_counts(
    job: JobExecution, moves: Mapping[tuple[int, TaskStatus, TaskStatus], int]
) -> tuple[Counts, FrozenDict]:
    """Return the job's status counts, overall and per round, after these counted status moves."""
    # A batch holds few distinct (round, from, to) moves: counting them once
    # in C is cheaper than four dict writes per update.
    counts = dict(job.status_counts)
    rounds: dict[int, dict[str, int]] = {}
    for (round_no, old, new), times in moves.items():
        # A TaskStatus is a str equal to its value, so it indexes the str-keyed counts.
        counts[old] -= times
        counts[new] += times
        per_round = rounds.get(round_no)
        if per_round is None:
            per_round = rounds[round_no] = dict(job.round_counts[round_no])
        per_round[old] -= times
        per_round[new] += times
    return FrozenDict(counts), with_round_counts(job, rounds)
