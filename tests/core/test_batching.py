"""Unit tests for pending batches: validation at add time, order, and prefix removal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core import InvalidUpdateError, add_tasks, apply_task_update, new_job
from core.batching import (
    add_cost_record,
    add_task_update,
    apply_pending_cost_records,
    apply_pending_task_updates,
    drop_cost_records,
    drop_task_updates,
    empty_batch,
    requeue_cost_records,
    requeue_task_updates,
)
from core.budget.reducers import new_budget, record_cost
from core.errors import BudgetError


def test_task_updates_apply_in_the_order_added() -> None:
    """Collected updates, applied at once, equal applying them one by one in order."""
    job = add_tasks(new_job("j", "d"), [{"task_id": f"t{i}", "agent_name": "a"} for i in range(3)])
    calls = [
        ("t0", "running", None, None, 1.0),
        ("t0", "completed", "ok", None, 2.0),
        ("t1", "failed", None, "boom", 3.0),
    ]
    batch = empty_batch()
    sequential = job
    for task_id, status, result, error, at in calls:
        batch = add_task_update(batch, task_id, status, result, error, at)
        update = {"task_id": task_id, "status": status, "result": result, "error": error, "at": at}
        sequential = apply_task_update(sequential, update)
    assert apply_pending_task_updates(job, batch) == sequential


def test_malformed_update_is_rejected_when_added() -> None:
    """A bad status is refused by add_task_update, leaving the batch as it was."""
    batch = add_task_update(empty_batch(), "t0", "running")
    with pytest.raises(InvalidUpdateError) as info:
        add_task_update(batch, "t1", "finished")
    assert info.value.field == "status"
    assert len(batch.task_updates) == 1


def test_cost_records_are_exact_and_validated_when_added() -> None:
    """Cost records become Decimals at add time; a negative amount is refused at once."""
    batch = add_cost_record(
        empty_batch(), {"agent_name": "a", "expected": 0.1, "actual": "0.2", "job_id": "j1"}
    )
    assert batch.cost_records[0]["actual"] == Decimal("0.2")
    with pytest.raises(BudgetError) as info:
        add_cost_record(batch, {"agent_name": "a", "expected": 1, "actual": -1, "job_id": "j2"})
    assert info.value.field == "actual"
    assert len(batch.cost_records) == 1


def test_pending_cost_records_equal_recording_one_at_a_time() -> None:
    """Applying collected cost records equals recording them in order."""
    budget = new_budget({"total_budget": 10}, [{"name": "a", "price": 1}])
    records = [
        {"agent_name": "a", "expected": "1", "actual": "1.5", "job_id": f"j{i}"} for i in range(4)
    ]
    batch = empty_batch()
    sequential = budget
    for record in records:
        batch = add_cost_record(batch, record)
        sequential = record_cost(sequential, record)
    assert apply_pending_cost_records(budget, batch) == sequential


def test_drop_removes_only_the_flushed_prefix() -> None:
    """Dropping n items keeps those added after a flush snapshot was taken."""
    batch = empty_batch()
    for i in range(5):
        batch = add_task_update(batch, f"t{i}", "running")
        batch = add_cost_record(
            batch, {"agent_name": "a", "expected": 1, "actual": 1, "job_id": f"j{i}"}
        )
    rest = drop_cost_records(drop_task_updates(batch, 3), 2)
    assert [u.task_id for u in rest.task_updates] == ["t3", "t4"]
    assert [r["job_id"] for r in rest.cost_records] == ["j2", "j3", "j4"]


def test_requeue_puts_a_failed_flush_back_in_front_in_order() -> None:
    """Items taken by a flush that failed go back before those added meanwhile."""
    batch = add_task_update(add_task_update(empty_batch(), "t0", "running"), "t1", "running")
    taken = batch.task_updates
    later = add_task_update(drop_task_updates(batch, len(taken)), "t2", "running")
    later = add_cost_record(later, {"agent_name": "a", "expected": 1, "actual": 1, "job_id": "j"})
    back = requeue_task_updates(later, taken)
    assert [u.task_id for u in back.task_updates] == ["t0", "t1", "t2"]
    records = requeue_cost_records(drop_cost_records(back, 1), back.cost_records)
    assert [r["job_id"] for r in records.cost_records] == ["j"]


def test_requeued_items_are_the_very_items_first_added() -> None:
    """A failed flush's items come back as the same objects, so a resend can recognise them."""
    batch = add_task_update(empty_batch(), "t0", "running")
    batch = add_cost_record(batch, {"agent_name": "a", "expected": 1, "actual": 1, "job_id": "j"})
    updates, records = list(batch.task_updates), list(batch.cost_records)
    emptied = drop_cost_records(drop_task_updates(batch, 1), 1)
    back = requeue_cost_records(requeue_task_updates(emptied, updates), records)
    assert back.task_updates[0] is updates[0]
    assert back.cost_records[0] is records[0]


def test_requeue_checks_records_no_batch_made() -> None:
    """A hand-made record handed to requeue is validated and frozen; a bad one names its index."""
    hand_made = {"agent_name": "a", "expected": "1", "actual": "2", "job_id": "j"}
    back = requeue_cost_records(empty_batch(), [hand_made])
    assert back.cost_records[0] == {**hand_made, "expected": 1, "actual": 2, "at": None}
    assert back.cost_records[0] is not hand_made
    with pytest.raises(BudgetError) as info:
        requeue_cost_records(back, [back.cost_records[0], {**hand_made, "actual": -1}])
    assert (info.value.field, info.value.index) == ("actual", 1)
