"""Pending batches: updates collected as they happen, to be applied in one go.

`shell.StateBatcher` holds one `PendingBatch` behind a lock; everything it
decides (validation, order, what a flush applies, what remains after a
flush) is here, pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from pyrsistent import pvector
from pyrsistent.typing import PVector

from core.batch_args import check_state, item_ident, item_list
from core.budget.reducers import BudgetState, parse_cost_record, record_costs
from core.errors import BudgetError, InvalidUpdateError, StateError, describe
from core.frozen import FrozenDict
from core.jobs.job import JobExecution
from core.jobs.reducers import TaskUpdate, apply_task_updates, parse_update

__all__ = [
    "PendingBatch",
    "add_cost_record",
    "add_task_update",
    "apply_pending_cost_records",
    "apply_pending_task_updates",
    "drop_cost_records",
    "drop_task_updates",
    "empty_batch",
    "requeue_cost_records",
    "requeue_task_updates",
]


class PendingBatch(NamedTuple):
    """Validated updates waiting to be applied, each kind in the order it was added.

    Attributes:
        task_updates: Task status reports, as `TaskUpdate`s.
        cost_records: Cost records, as read-only mappings with exact amounts.
    """

    task_updates: PVector[TaskUpdate]
    cost_records: PVector[Mapping[str, Any]]


_EMPTY = PendingBatch(pvector(), pvector())


def empty_batch() -> PendingBatch:
    """Return a batch holding nothing."""
    return _EMPTY


def add_task_update(
    batch: PendingBatch,
    task_id: str,
    status: str,
    result: Any = None,
    error: str | None = None,
    at: float | None = None,
) -> PendingBatch:
    """Return the batch with one more task update, validated now rather than at flush.

    Raises:
        InvalidUpdateError: a field has the wrong type or value; ``batch`` is unchanged.
    """
    check_state(batch, PendingBatch, "batch")
    update = parse_update(
        {"task_id": task_id, "status": status, "result": result, "error": error, "at": at}
    )
    return batch._replace(task_updates=batch.task_updates.append(update))


def add_cost_record(batch: PendingBatch, record: Mapping[str, Any]) -> PendingBatch:
    """Return the batch with one more cost record, validated and made exact now.

    Args:
        batch: The pending batch.
        record: ``{"agent_name", "expected", "actual", "job_id", optional "at"}``.

    Raises:
        BudgetError: the record is malformed or an amount is invalid; ``batch`` is unchanged.
    """
    check_state(batch, PendingBatch, "batch")
    return batch._replace(cost_records=batch.cost_records.append(_frozen_record(record)))


def apply_pending_task_updates(job: JobExecution, batch: PendingBatch) -> JobExecution:
    """Return the job after every pending task update, in the order added, all or none."""
    check_state(batch, PendingBatch, "batch")
    return apply_task_updates(job, batch.task_updates)


def apply_pending_cost_records(budget: BudgetState, batch: PendingBatch) -> BudgetState:
    """Return the budget after every pending cost record, in the order added, all or none."""
    check_state(batch, PendingBatch, "batch")
    return record_costs(budget, batch.cost_records)


def drop_task_updates(batch: PendingBatch, count: int) -> PendingBatch:
    """Return the batch without its first ``count`` task updates (those handed to a flush).

    Updates added while a flush was in flight come after them and stay pending.

    Raises:
        InvalidUpdateError: ``count`` is not an int from 0 to the number pending.
    """
    check_state(batch, PendingBatch, "batch")
    pending = batch.task_updates
    return batch._replace(task_updates=pending[_drop_count(count, len(pending), "updates")])


def drop_cost_records(batch: PendingBatch, count: int) -> PendingBatch:
    """Return the batch without its first ``count`` cost records (those just flushed).

    Raises:
        InvalidUpdateError: ``count`` is not an int from 0 to the number pending.
    """
    check_state(batch, PendingBatch, "batch")
    pending = batch.cost_records
    return batch._replace(cost_records=pending[_drop_count(count, len(pending), "cost records")])


def _drop_count(count: Any, pending: int, what: str) -> slice:
    """Return the slice that keeps what follows the first ``count`` items.

    A negative count would slice from the end and keep only the last items:
    exactly the silent loss a flush must never cause.
    """
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= pending:
        raise InvalidUpdateError(
            f"count must be an int from 0 to the {pending} {what} pending, got {describe(count)}",
            field="count",
            value=count,
        )
    return slice(count, None)


def requeue_task_updates(batch: PendingBatch, updates: Sequence[TaskUpdate]) -> PendingBatch:
    """Return the batch with ``updates`` (from a failed flush) back in front, in their order.

    They were dropped when handed to the flush, so updates added meanwhile
    come after them, as they were added. O(n); rows `parse_update` made (what a
    batch holds) are not checked again, anything else is.

    Raises:
        InvalidUpdateError: ``updates`` is not a batch, or an item is not a valid update.
    """
    check_state(batch, PendingBatch, "batch")
    rows = [
        _located(parse_update, row, index, "task_id")
        for index, row in enumerate(item_list(updates, "updates", InvalidUpdateError))
    ]
    return batch._replace(task_updates=pvector(rows).extend(batch.task_updates))


def requeue_cost_records(batch: PendingBatch, records: Sequence[Mapping[str, Any]]) -> PendingBatch:
    """Return the batch with ``records`` (from a failed flush) back in front, in their order.

    Records a batch made (what `drop_cost_records` took out) come back as the
    very objects they were, unchecked, like task updates; anything else is checked.

    Raises:
        BudgetError: ``records`` is not a batch, or an item is not a valid cost record.
    """
    check_state(batch, PendingBatch, "batch")
    rows = [
        _located(_frozen_record, record, index, "job_id")
        for index, record in enumerate(item_list(records, "records", BudgetError))
    ]
    return batch._replace(cost_records=pvector(rows).extend(batch.cost_records))


class _BatchedRecord(FrozenDict):
    """Private: a cost record `_frozen_record` validated, so a requeue need not check it again.

    Keeping the very object (not an equal copy) makes a requeued record
    indistinguishable from the one first added: a flush that resends an
    unanswered batch recognises it by identity. A pickled one comes back a
    plain `FrozenDict`, which is checked again.
    """

    __slots__ = ()


def _frozen_record(record: Any) -> Mapping[str, Any]:
    """A cost record as a batch holds it: parsed, exact, read-only (itself if a batch made it)."""
    if type(record) is _BatchedRecord:
        return record
    return _BatchedRecord(parse_cost_record(record)._asdict())


def _located(parse: Any, item: Any, index: int, ident: str) -> Any:
    """Return ``parse(item)``, its error naming the item's index and id."""
    try:
        return parse(item)
    except StateError as err:
        raise err.in_batch(index, item_ident(item, ident)) from err
