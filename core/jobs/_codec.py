"""Private: how a `JobExecution` pickles, column by column, with the collector paused.

Every ``ray.put``/``ray.get`` of a job pays for this, so it is tuned, and it
lives here so `core.jobs.job` says only what a job is. `JobExecution.__reduce__`
delegates to `reduce_job` in one line.

Why columns: pickling persistent structures of records directly costs ~3x a
plain dict on every put and get (see docs/performance.md). A job ships as one
tuple per `TaskRecord` field, with top-level `FrozenDict`s as plain dicts
(which pickle at C speed), and is rebuilt by `rebuild_job`.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from core.frozen import FrozenDict
from core.jobs._table import empty_task_table, task_table_from_columns
from core.jobs.task import TaskRecord

__all__ = ["collector_paused", "rebuild_job", "reduce_job"]

# Task columns that hold deep-frozen caller data: input_data and result.
_FROZEN_COLUMNS = (TaskRecord._fields.index("input_data"), TaskRecord._fields.index("result"))

# How a column of frozen caller data travels: as it is (no FrozenDict in it),
# all plain dicts (every value was one), or mixed.
_AS_IS, _ALL_FROZEN, _MIXED = 0, 1, 2


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a job is encoded or rebuilt.

    Why: a plain dict of atomic values is never tracked by the collector, but
    the rebuilt records and frozen inputs are, so a 10,000-task
    rebuild triggers dozens of collections whose cost grows with the caller's
    whole heap (measured: 1.5x a plain dict paused, 2-3.5x not, and ~5x at
    100,000 tasks). What is built is acyclic, so nothing is leaked by not
    collecting meanwhile. The result never depends on the collector.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def reduce_job(job: Any) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """Return ``job``'s pickle recipe: `rebuild_job` and the job's fields, tasks as columns.

    O(n) in the number of tasks, at C speed for the column split.
    """
    with collector_paused():
        columns: list[Any] = list(map(tuple, job.tasks.columns)) if job.tasks else []
        for index in _FROZEN_COLUMNS if columns else ():
            columns[index] = _encode_frozen(columns[index])
    return (
        rebuild_job,
        (
            type(job),
            job.job_id,
            job.description,
            job.created_at,
            job.completed_at,
            columns,
            dict(job.status_counts),
            {r: dict(counts) for r, counts in job.round_counts.items()},
        ),
    )


def rebuild_job(
    job_type: Callable[..., Any],
    job_id: str,
    description: str,
    created_at: float | None,
    completed_at: float | None,
    columns: list[Any],
    status_counts: dict[str, int],
    round_counts: dict[int, dict[str, int]],
) -> Any:
    """Inverse of `reduce_job`; ``job_type`` is `JobExecution` (passed in: no import cycle)."""
    tasks = empty_task_table()
    with collector_paused():
        if columns:
            for index in _FROZEN_COLUMNS:
                columns[index] = _decode_frozen(columns[index])
            tasks = task_table_from_columns(columns)
    return job_type(
        job_id,
        description,
        created_at,
        completed_at,
        tasks,
        FrozenDict(status_counts),
        FrozenDict({r: FrozenDict(c) for r, c in round_counts.items()}),
    )


def _encode_frozen(values: tuple[Any, ...]) -> tuple[int, Sequence[Any]]:
    """Turn a column's top-level `FrozenDict`s into plain dicts, which pickle at C speed.

    Called with the collector paused: the copies are tracked like the
    originals (measured 5x slower at 100,000 tasks while it runs).

    Returns:
        A tag saying how to decode, and the column.
    """
    types = set(map(type, values))
    if FrozenDict not in types:
        return _AS_IS, values
    if types == {FrozenDict}:
        return _ALL_FROZEN, list(map(dict, values))
    return _MIXED, [dict(v) if type(v) is FrozenDict else v for v in values]


def _decode_frozen(encoded: tuple[int, Sequence[Any]]) -> Sequence[Any]:
    """Inverse of `_encode_frozen`; nested values were frozen when first built."""
    how, values = encoded
    if how == _AS_IS:
        return values
    if how == _ALL_FROZEN:
        return list(map(FrozenDict, values))
    return [FrozenDict(v) if type(v) is dict else v for v in values]
