"""Properties of the batcher's pure part: what it collects, applied in one go, equals one at a time.

A `PendingBatch` validates each item as it is added. Items it accepts must,
flushed together, give exactly the state that applying them one at a time in
the order added gives; items it rejects must be rejected alone too, and
leave the batch unchanged. Flushing in two parts (what was there when a flush
started, then what arrived meanwhile) must equal flushing once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from core import JobExecution, StateError, apply_task_update
from core.batching import (
    PendingBatch,
    add_cost_record,
    add_task_update,
    apply_pending_cost_records,
    apply_pending_task_updates,
    drop_cost_records,
    drop_task_updates,
    empty_batch,
)
from core.budget.reducers import BudgetError, BudgetState, record_cost
from properties.strategies import (
    budget_states,
    check_batch_matches_sequential,
    cost_record_lists,
    jobs_and_updates,
)

_FIELDS = ("task_id", "status", "result", "error", "at")


def _as_args(update: Any) -> tuple[Any, ...] | None:
    """The batcher's positional arguments for an update mapping (None for a non-mapping)."""
    if not isinstance(update, Mapping):
        return None
    return tuple(update.get(field) for field in _FIELDS)


def _collect_updates(updates: list[Any]) -> tuple[PendingBatch, list[dict[str, Any]]]:
    """Add each update to a batch; return the batch and the updates it accepted, in order."""
    batch = empty_batch()
    accepted = []
    for update in updates:
        args = _as_args(update)
        if args is None:
            continue
        try:
            batch = add_task_update(batch, *args)
        except StateError:
            continue
        accepted.append(dict(zip(_FIELDS, args, strict=True)))
    return batch, accepted


def _flush_updates(job: JobExecution, updates: list[Any]) -> JobExecution:
    return apply_pending_task_updates(job, _collect_updates(updates)[0])


@given(jobs_and_updates(max_size=10))
def test_collected_updates_equal_sequential(case: tuple[JobExecution, list[Any]]) -> None:
    """A flushed batch of task updates equals applying them one at a time in the order added."""
    job, updates = case
    _, accepted = _collect_updates(updates)
    event("batch holds " + ("5+" if len(accepted) >= 5 else str(len(accepted))) + " updates")
    check_batch_matches_sequential(job, accepted, _flush_updates, apply_task_update)


@given(jobs_and_updates(max_size=10))
def test_rejected_update_is_rejected_alone_and_changes_no_batch(
    case: tuple[JobExecution, list[Any]],
) -> None:
    """An update the batch refuses fails alone the same way; one it accepts is appended last."""
    job, updates = case
    batch = empty_batch()
    for update in updates:
        args = _as_args(update)
        if args is None:
            continue
        try:
            batch_after = add_task_update(batch, *args)
        except StateError as err:
            alone = dict(zip(_FIELDS, args, strict=True))
            try:
                apply_task_update(job, alone)
            except StateError as alone_err:
                assert type(alone_err) is type(err)
            else:
                raise AssertionError(f"batch refused {alone!r}, applying it alone did not") from err
            continue
        assert batch_after.task_updates[:-1] == batch.task_updates
        batch = batch_after
    assert len(batch.cost_records) == 0


@given(jobs_and_updates(max_size=10), st.data())
def test_flush_in_two_parts_equals_one_flush(
    case: tuple[JobExecution, list[Any]], data: st.DataObject
) -> None:
    """Flushing the first k updates, then what remains after dropping them, equals one flush."""
    job, updates = case
    batch, accepted = _collect_updates(updates)
    k = data.draw(st.integers(0, len(accepted)))
    head = PendingBatch(batch.task_updates[:k], batch.cost_records)
    try:
        whole = apply_pending_task_updates(job, batch)
    except StateError:
        whole = None
    try:
        parts = apply_pending_task_updates(
            apply_pending_task_updates(job, head), drop_task_updates(batch, k)
        )
    except StateError:
        parts = None
    assert parts == whole


def _collect_records(records: list[Any]) -> tuple[PendingBatch, list[Any]]:
    batch = empty_batch()
    accepted = []
    for record in records:
        try:
            batch = add_cost_record(batch, record)
        except BudgetError:
            continue
        accepted.append(record)
    return batch, accepted


def _flush_records(state: BudgetState, records: list[Any]) -> BudgetState:
    return apply_pending_cost_records(state, _collect_records(records)[0])


@given(budget_states(), cost_record_lists(max_size=10))
def test_collected_cost_records_equal_sequential(state: BudgetState, records: list[Any]) -> None:
    """A flushed batch of cost records (with duplicates) equals recording them one at a time."""
    _, accepted = _collect_records(records)
    check_batch_matches_sequential(state, accepted, _flush_records, record_cost)


@given(budget_states(), cost_record_lists(max_size=10), st.data())
def test_cost_flush_in_two_parts_equals_one_flush(
    state: BudgetState, records: list[Any], data: st.DataObject
) -> None:
    """Recording the first k pending records, then the rest once dropped, equals one flush."""
    batch, accepted = _collect_records(records)
    k = data.draw(st.integers(0, len(accepted)))
    head = PendingBatch(batch.task_updates, batch.cost_records[:k])
    try:
        whole = apply_pending_cost_records(state, batch)
    except BudgetError:
        whole = None
    try:
        parts = apply_pending_cost_records(
            apply_pending_cost_records(state, head), drop_cost_records(batch, k)
        )
    except BudgetError:
        parts = None
    assert parts == whole
