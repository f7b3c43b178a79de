"""Task update reducers: apply one status report, or a batch of them atomically."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from itertools import compress
from operator import attrgetter, is_not
from typing import Any, NoReturn, cast

from pyrsistent import pmap
from pyrsistent.typing import PMap

from core.batch_args import check_state
from core.errors import StateError, UnknownTaskError, describe
from core.jobs._columns import UpdateColumns, to_update_columns, update_list
from core.jobs.job import STATUS_KEYS, JobExecution
from core.jobs.status import ALLOWED_TRANSITIONS, TERMINAL_STATUSES, TaskStatus, check_transition
from core.jobs.task import TaskRecord, record_columns, records_from_columns
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
_ALLOWED = ALLOWED_TRANSITIONS
_TERMINAL = TERMINAL_STATUSES
_STATUS = attrgetter("status")

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


def _apply_columns(
    job: JobExecution, columns: UpdateColumns, *, in_batch: bool, offset: int = 0
) -> JobExecution:
    """Apply validated columns in order; the one path every update goes through. O(batch).

    Works column by column: each step is one C-level pass over a column
    (``map``, ``zip``, ``compress``, ``Counter``), not a Python step per
    update. That is exact because, within a batch that names each task once,
    an update's outcome depends only on its own task: the first update that
    fails is the one a one-by-one application would fail on. A task named
    twice must see its own earlier update, so such a batch is applied as
    consecutive runs that name each task once. ``offset`` is the index of
    ``columns``' first update in the caller's batch, for error messages.
    """
    task_ids = columns.task_ids
    if not task_ids:
        return job
    if len(set(task_ids)) < len(task_ids):
        for start, stop in _runs_without_repeats(task_ids):
            run = _new_tuple(UpdateColumns, tuple(column[start:stop] for column in columns))
            job = _apply_columns(job, run, in_batch=in_batch, offset=offset + start)
        return job
    # The draft reads the batch's records by task id and takes the new ones back
    # in the batch's order; the job is untouched until the end.
    draft = job.tasks.evolver()
    found = draft.get_many(task_ids)
    statuses = columns.statuses
    # Up to the first unknown task (if any): its earlier updates may fail first.
    known = found.index(None) if None in found else len(found)
    currents = list(map(_STATUS, found if known == len(found) else found[:known]))
    # A batch holds few distinct (old, new) status pairs: check each pair once.
    pairs = set(zip(currents, statuses, strict=False))
    refused = {(old, new) for old, new in pairs if new is not old and new not in _ALLOWED[old]}
    if refused or known < len(found):
        _raise_first_failure(job, columns, currents, refused, in_batch, offset)
    if any(new is old for old, new in pairs):
        # Pollers repeat the current status: such an update changes nothing,
        # and the first timestamps must survive. Drop them, then read again.
        moved = list(map(is_not, currents, statuses))
        if not any(moved):
            return job
        columns = _new_tuple(UpdateColumns, tuple(tuple(compress(c, moved)) for c in columns))
        task_ids, statuses = columns.task_ids, columns.statuses
        currents = list(compress(currents, moved))
        found = draft.get_many(task_ids)
    records = cast("list[TaskRecord]", found)  # no None left: an unknown id raised
    # Unpacked into one name per TaskRecord field: a new field fails here, never misaligns.
    ids, agents, inputs, _, results, errors, started, done, rounds = record_columns(records)
    ats = columns.ats
    results = _overlay(columns.results, results)
    errors = _overlay(columns.errors, errors)
    if _RUNNING in statuses:
        started = tuple(
            at if new is _RUNNING and old is None else old
            for new, old, at in zip(statuses, started, ats, strict=True)
        )
    terminal = list(map(_TERMINAL.__contains__, statuses))
    if all(terminal):
        done = ats
    elif any(terminal):
        done = tuple(
            at if ended else old for ended, old, at in zip(terminal, done, ats, strict=True)
        )
    # Only a terminal move finishes a task, and nothing leaves a terminal status:
    # when this run finishes every unfinished task, all its moves are terminal
    # (a move to running would leave its task unfinished), and the job
    # completes at the last of them.
    completed_at = job.completed_at
    unfinished = job.status_counts["pending"] + job.status_counts["running"]
    if unfinished and terminal.count(True) == unfinished:
        completed_at = ats[-1]
    fields = (ids, agents, inputs, statuses, results, errors, started, done, rounds)
    draft.set_many(records_from_columns(fields))
    moves = Counter(zip(rounds, currents, statuses, strict=True))
    status_counts, round_counts = _moved_counts(job, moves)
    return job._replace(
        tasks=draft.persistent(),
        status_counts=status_counts,
        round_counts=round_counts,
        completed_at=completed_at,
    )


def _runs_without_repeats(task_ids: tuple[str, ...]) -> list[tuple[int, int]]:
    """Split a batch into consecutive ``(start, stop)`` runs that name each task once. O(n)."""
    runs: list[tuple[int, int]] = []
    seen: set[str] = set()
    start = 0
    for index, task_id in enumerate(task_ids):
        if task_id in seen:
            runs.append((start, index))
            seen, start = set(), index
        seen.add(task_id)
    runs.append((start, len(task_ids)))
    return runs


def _overlay(new: tuple[Any, ...], old: tuple[Any, ...]) -> tuple[Any, ...]:
    """Each update's value where it gives one (not None), else the task's own. O(n)."""
    if None not in new:
        return new
    if new.count(None) == len(new):
        return old
    return tuple(kept if given is None else given for given, kept in zip(new, old, strict=True))


def _raise_first_failure(
    job: JobExecution,
    columns: UpdateColumns,
    currents: list[TaskStatus],
    refused: set[tuple[TaskStatus, TaskStatus]],
    in_batch: bool,
    offset: int,
) -> NoReturn:
    """Raise the error of the batch's first update that cannot be applied.

    ``currents`` holds the current status of each task up to the first unknown one.
    """
    pairs = zip(currents, columns.statuses, strict=False)
    index = next((i for i, pair in enumerate(pairs) if pair in refused), len(currents))
    task_id = columns.task_ids[index]
    if index == len(currents):
        err: StateError = UnknownTaskError(
            f"job {describe(job.job_id)} has no task with task_id {describe(task_id)}",
            field="task_id",
            value=task_id,
        )
        raise _located(err, offset + index, task_id, in_batch)
    try:
        check_transition(task_id, currents[index], columns.statuses[index])
    except StateError as err:
        raise _located(err, offset + index, task_id, in_batch) from err
    raise AssertionError("a refused transition passed check_transition")  # pragma: no cover


def _moved_counts(
    job: JobExecution, moves: Counter[tuple[int, TaskStatus, TaskStatus]]
) -> tuple[PMap[str, int], PMap[int, PMap[str, int]]]:
    """Return the job's status counts, overall and per round, after these counted status moves."""
    # A batch holds few distinct (round, from, to) moves: counting them once
    # in C is cheaper than four dict writes per update.
    counts = _counts_dict(job.status_counts)
    rounds: dict[int, dict[str, int]] = {}
    for (round_no, old, new), times in moves.items():
        # A TaskStatus is a str equal to its value, so it indexes the str-keyed counts.
        counts[old] -= times
        counts[new] += times
        per_round = rounds.get(round_no)
        if per_round is None:
            per_round = rounds[round_no] = _counts_dict(job.round_counts[round_no])
        per_round[old] -= times
        per_round[new] += times
    return pmap(counts), job.round_counts.update({r: pmap(c) for r, c in rounds.items()})


def _counts_dict(counts: PMap[str, int]) -> dict[str, int]:
    # Four key lookups beat dict(counts), which walks the map in Python (~3x slower).
    return {key: counts[key] for key in STATUS_KEYS}
