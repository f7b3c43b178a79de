"""StateBatcher on a real Ray: order, one round trip, atomic failed flushes, threads, stores."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from shell_helpers import put_job

from shell import (
    BudgetError,
    BudgetManager,
    InvalidArgumentError,
    InvalidUpdateError,
    StateBatcher,
    StateManager,
    UnknownTaskError,
    ray_op_counts,
    reset_ray_op_counts,
)
from shell.managers import default_cache

pytestmark = pytest.mark.usefixtures("fresh_shell")


class RecordingStore:
    """A stand-in for the store handle (issue 6): records calls, optionally fails or interleaves."""

    def __init__(self, fail: BaseException | None = None, during: Any = None) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.fail = fail
        self.during = during

    def update_tasks(self, job_id: str, updates: list[Any]) -> int:
        if self.during is not None:
            self.during()
        if self.fail is not None:
            raise self.fail
        self.calls.append((job_id, list(updates)))
        return len(self.calls)

    def record_costs(self, records: list[Any]) -> None:
        if self.fail is not None:
            raise self.fail
        self.calls.append(("costs", list(records)))


def test_add_task_update_validates_at_once():
    """A malformed update raises InvalidUpdateError when added, and nothing is queued."""
    batcher = StateBatcher()
    with pytest.raises(InvalidUpdateError) as info:
        batcher.add_task_update("t1", "done")
    assert info.value.field == "status"
    with pytest.raises(InvalidUpdateError):
        batcher.add_task_update("", "running")
    assert len(batcher) == 0


def test_add_stamps_at_with_the_clock_unless_given():
    """Items added without `at` carry the clock's reading; an explicit `at` is kept."""
    batcher = StateBatcher(clock=lambda: 123.0)
    batcher.add_task_update("t1", "running")
    batcher.add_task_update("t2", "running", at=7.0)
    batcher.add_cost_record("a", 1, 1, "j1")
    pending = batcher.pending()
    assert [u.at for u in pending.task_updates] == [123.0, 7.0]
    assert pending.cost_records[0]["at"] == 123.0
    with pytest.raises(InvalidArgumentError):
        StateBatcher(clock=1.0)


def test_flush_of_200_updates_is_one_round_trip_in_order():
    """200 queued updates flush with one get and one put, applied in the order added."""
    ref = put_job(100)
    default_cache().invalidate()
    batcher = StateBatcher()
    for i in range(100):
        batcher.add_task_update(f"t{i}", "running", at=1.0)
        batcher.add_task_update(f"t{i}", "completed", result=i, at=4.0)
    reset_ray_op_counts()
    new_ref = batcher.flush_task_updates(ref)
    assert ray_op_counts() == {"get": 1, "put": 1}
    job = StateManager.get_job_execution(new_ref)
    assert job.status_counts["completed"] == 100
    assert job.tasks["t7"].duration == 3.0
    assert len(batcher) == 0


def test_empty_flush_makes_no_ray_call():
    """Flushing nothing returns the target ref itself and touches no Ray."""
    ref = put_job(1)
    reset_ray_op_counts()
    batcher = StateBatcher()
    assert batcher.flush_task_updates(ref) is ref
    assert batcher.flush_budget_updates(ref) is ref
    assert ray_op_counts() == {"get": 0, "put": 0}


def test_failed_flush_keeps_everything_and_applies_nothing():
    """A flush the core refuses raises, keeps all pending, and a later good flush applies all."""
    small = put_job(2)
    batcher = StateBatcher()
    for i in range(3):
        batcher.add_task_update(f"t{i}", "completed", at=2.0)
    before = batcher.pending()
    reset_ray_op_counts()
    with pytest.raises(UnknownTaskError) as info:
        batcher.flush_task_updates(small)
    assert info.value.index == 2
    assert ray_op_counts()["put"] == 0
    assert batcher.pending() == before
    assert StateManager.get_job_summary(small)["completed_tasks"] == 0
    big = batcher.flush_task_updates(put_job(3))
    assert StateManager.get_job_summary(big)["completed_tasks"] == 3
    assert len(batcher) == 0


def test_updates_added_during_a_flush_stay_pending():
    """A flush drops exactly what it applied: an update added meanwhile is still queued."""
    batcher = StateBatcher()
    batcher.add_task_update("t0", "running")
    store = RecordingStore(during=lambda: batcher.add_task_update("t1", "running"))
    assert batcher.flush_task_updates(store, job_id="j") == 1
    assert [u.task_id for u in store.calls[0][1]] == ["t0"]
    assert [u.task_id for u in batcher.pending().task_updates] == ["t1"]


def test_clear_during_a_flush_does_not_drop_later_updates():
    """clear() while a flush is in flight: the flush must not eat updates added after clear."""
    batcher = StateBatcher()
    batcher.add_task_update("t0", "running")

    def clear_then_add() -> None:
        batcher.clear()
        batcher.add_task_update("t9", "running")

    batcher.flush_task_updates(RecordingStore(during=clear_then_add), job_id="j")
    assert [u.task_id for u in batcher.pending().task_updates] == ["t9"]


def test_flush_into_a_store_passes_job_id_and_updates():
    """With a store the batch goes to update_tasks(job_id, updates) and costs to record_costs."""
    batcher = StateBatcher()
    batcher.add_task_update("t0", "completed", result={"r": 1}, at=3.0)
    batcher.add_cost_record("a", "1.5", 2, "job-1", at=4.0)
    store = RecordingStore()
    assert batcher.flush_task_updates(store, job_id="job-1") == 1
    batcher.flush_budget_updates(store)
    (job_id, updates), (kind, records) = store.calls
    assert job_id == "job-1" and updates[0].status.value == "completed"
    assert kind == "costs" and records[0]["expected"] == Decimal("1.5")
    assert len(batcher) == 0
    assert batcher.flush_task_updates(store, job_id="job-1") is None


def test_store_flush_needs_a_job_id_and_keeps_pending_on_failure():
    """No job_id with a store is refused; a store that raises keeps the batch pending."""
    batcher = StateBatcher()
    batcher.add_task_update("t0", "running")
    with pytest.raises(InvalidArgumentError) as info:
        batcher.flush_task_updates(RecordingStore())
    assert info.value.field == "job_id"
    with pytest.raises(UnknownTaskError):
        batcher.flush_task_updates(
            RecordingStore(fail=UnknownTaskError("no t0", field="task_id")), job_id="j"
        )
    assert len(batcher) == 1
    with pytest.raises(InvalidArgumentError) as info:
        batcher.flush_task_updates(object())
    assert info.value.field == "target"


def test_cost_records_validate_and_flush_in_one_round_trip():
    """Bad records raise BudgetError when added; 30 good ones flush with one get and one put."""
    ref = BudgetManager.initialize_budget(None, [{"name": "a", "price": 1}])
    default_cache().invalidate()
    batcher = StateBatcher()
    with pytest.raises(BudgetError) as info:
        batcher.add_cost_record("a", "x", 1, "j")
    assert info.value.field == "expected"
    for i in range(30):
        batcher.add_cost_record("a", 1, "1.1", f"j{i}")
    reset_ray_op_counts()
    ref = batcher.flush_budget_updates(ref)
    assert ray_op_counts() == {"get": 1, "put": 1}
    assert BudgetManager.get_budget_state(ref).total_spent == Decimal("33.0")


def test_failed_budget_flush_keeps_pending():
    """A conflicting duplicate in the batch raises and keeps every record queued."""
    ref = BudgetManager.initialize_budget(None, [{"name": "a", "price": 1}])
    batcher = StateBatcher()
    batcher.add_cost_record("a", 1, 1, "j1")
    batcher.add_cost_record("a", 1, 2, "j1")
    with pytest.raises(BudgetError):
        batcher.flush_budget_updates(ref)
    assert len(batcher.pending().cost_records) == 2
    assert BudgetManager.get_budget_state(ref).total_spent == 0


def test_clear_returns_what_it_dropped():
    """clear() empties the batcher and returns the dropped batch."""
    batcher = StateBatcher()
    batcher.add_task_update("t0", "running")
    batcher.add_cost_record("a", 1, 1, "j")
    dropped = batcher.clear()
    assert (len(dropped.task_updates), len(dropped.cost_records)) == (1, 1)
    assert len(batcher) == 0


def test_threaded_stress_eight_writers_and_a_flusher_lose_nothing():
    """8 threads x 1,000 updates while another thread flushes: all 8,000 land, no exception."""
    ref = put_job(8000)
    batcher = StateBatcher()
    errors: list[BaseException] = []
    done = threading.Event()
    refs = [ref]

    def writer(n: int) -> None:
        try:
            for i in range(1000):
                batcher.add_task_update(f"t{n * 1000 + i}", "completed", result=i)
        except BaseException as err:
            errors.append(err)

    def flusher() -> None:
        try:
            while not done.is_set():
                refs[0] = batcher.flush_task_updates(refs[0])
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    flushing = threading.Thread(target=flusher)
    flushing.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    flushing.join()
    final = batcher.flush_task_updates(refs[0])
    assert errors == []
    assert len(batcher) == 0
    summary = StateManager.get_job_summary(final)
    assert (summary["completed_tasks"], summary["pending_tasks"]) == (8000, 0)
