"""StateManager and BudgetManager on a real local Ray: results, Ray-op counts, atomicity."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from shell_helpers import put_job

from core.budget.calculator import BudgetCalculator
from core.budget.reducers import BudgetState
from core.jobs.job import JobExecution
from core.jobs.status import TaskStatus
from core.jobs.task import new_task
from shell import (
    BudgetError,
    BudgetManager,
    DuplicateTaskError,
    InvalidArgumentError,
    InvalidTaskError,
    InvalidTransitionError,
    InvalidUpdateError,
    StateCache,
    StateManager,
    UnknownTaskError,
    ray_op_counts,
    reset_ray_op_counts,
)
from shell.managers import default_cache

pytestmark = pytest.mark.usefixtures("fresh_shell")


def _budget() -> object:
    """Put a budget of 10 with one agent priced 2 (limit 6) and return its ref."""
    ref = BudgetManager.initialize_budget(
        {"total_budget": 10}, [{"name": "a", "price": 2, "max_total_spend": 6}]
    )
    reset_ray_op_counts()
    return ref


def _uncached(ref: object) -> object:
    """Forget the write-through entry, as if the ref came from another process."""
    default_cache().invalidate(ref)
    return ref


def test_create_job_execution_generates_an_id_and_puts_once():
    """Without a job id a fresh uuid is used; creation costs exactly one put."""
    before = time.time()
    job_id, ref = StateManager.create_job_execution("women 25-34")
    assert len(job_id) == 32
    assert ray_op_counts() == {"get": 0, "put": 1}
    job = StateManager.get_job_execution(ref)
    assert isinstance(job, JobExecution)
    assert (job.job_id, job.description) == (job_id, "women 25-34")
    assert before <= job.created_at <= time.time()


def test_create_job_execution_rejects_bad_input_before_any_ray_call():
    """A bad description or id raises InvalidTaskError naming the field, with no put."""
    with pytest.raises(InvalidTaskError) as info:
        StateManager.create_job_execution(42)
    assert info.value.field == "description"
    with pytest.raises(InvalidTaskError) as info:
        StateManager.create_job_execution("d", job_id="")
    assert info.value.field == "job_id"
    assert ray_op_counts() == {"get": 0, "put": 0}


def test_add_agent_task_accepts_records_and_mappings():
    """Both a TaskRecord and a mapping with round and input_data become pending tasks."""
    ref = put_job(0)
    ref = StateManager.add_agent_task(ref, new_task("r1", "a", {"q": 1}))
    ref = StateManager.add_agent_task(
        ref, {"task_id": "m1", "agent_name": "b", "input_data": {"q": 2}, "round": 2}
    )
    job = StateManager.get_job_execution(ref)
    assert list(job.task_order) == ["r1", "m1"]
    assert job.tasks["m1"].round == 2
    assert job.tasks["m1"].input_data == {"q": 2}
    assert job.status_counts["pending"] == 2


def test_add_agent_tasks_costs_one_get_and_one_put_when_uncached():
    """Adding 100 tasks to a job this process has not cached is one get and one put."""
    ref = _uncached(put_job(0))
    StateManager.add_agent_tasks(ref, [{"task_id": f"x{i}", "agent_name": "a"} for i in range(100)])
    assert ray_op_counts() == {"get": 1, "put": 1}


def test_add_agent_tasks_validates_before_ray_and_is_atomic():
    """A malformed task fails before any Ray call; a duplicate fails with nothing put."""
    ref = _uncached(put_job(2))
    with pytest.raises(InvalidTaskError) as info:
        StateManager.add_agent_tasks(ref, [{"task_id": "ok", "agent_name": "a"}, {"task_id": "x"}])
    assert info.value.index == 1
    assert ray_op_counts() == {"get": 0, "put": 0}
    with pytest.raises(DuplicateTaskError):
        StateManager.add_agent_tasks(
            ref, [{"task_id": "new", "agent_name": "a"}, {"task_id": "t1", "agent_name": "a"}]
        )
    assert ray_op_counts()["put"] == 0
    assert len(StateManager.get_job_execution(ref).tasks) == 2


def test_add_agent_tasks_empty_makes_no_ray_call():
    """Adding no tasks returns the same ref without touching Ray."""
    ref = put_job(1)
    assert StateManager.add_agent_tasks(ref, []) is ref
    assert ray_op_counts() == {"get": 0, "put": 0}


def test_batch_of_200_updates_is_one_get_and_one_put():
    """A 200-update batch on an uncached ref costs exactly one ray.get and one ray.put."""
    ref = _uncached(put_job(200))
    new_ref = StateManager.batch_update_tasks(
        ref, [{"task_id": f"t{i}", "status": "completed", "result": i} for i in range(200)]
    )
    assert ray_op_counts() == {"get": 1, "put": 1}
    assert new_ref != ref
    assert StateManager.get_job_summary(new_ref)["completed_tasks"] == 200
    assert ray_op_counts() == {"get": 1, "put": 1}


def test_batch_on_a_written_through_ref_needs_no_get():
    """Updating the ref this process just put costs one put and no get."""
    ref = put_job(10)
    StateManager.batch_update_tasks(ref, [{"task_id": "t1", "status": "running"}])
    assert ray_op_counts() == {"get": 0, "put": 1}


def test_empty_batch_returns_same_ref_without_ray():
    """An empty batch returns the very same ref and makes no Ray call."""
    ref = _uncached(put_job(3))
    assert StateManager.batch_update_tasks(ref, []) is ref
    assert ray_op_counts() == {"get": 0, "put": 0}


def test_batch_update_stamps_missing_at_and_keeps_given_at():
    """Updates without `at` get the current time; an explicit `at` is kept."""
    ref = put_job(2)
    before = time.time()
    ref = StateManager.batch_update_tasks(
        ref,
        [
            {"task_id": "t0", "status": "running"},
            {"task_id": "t1", "status": "running", "at": 1000.0},
        ],
    )
    job = StateManager.get_job_execution(ref)
    assert before <= job.tasks["t0"].started_at <= time.time()
    assert job.tasks["t1"].started_at == 1000.0


def test_batch_update_applies_in_order():
    """Updates to one task apply in the order given: running then completed."""
    ref = put_job(1)
    ref = StateManager.batch_update_tasks(
        ref,
        [
            {"task_id": "t0", "status": "running", "at": 1.0},
            {"task_id": "t0", "status": "completed", "result": {"a": 1}, "at": 3.0},
        ],
    )
    task = StateManager.get_job_execution(ref).tasks["t0"]
    assert (task.status, task.duration, task.result) == (TaskStatus.COMPLETED, 2.0, {"a": 1})


def test_failed_batch_puts_nothing_and_raises_the_core_error():
    """A bad transition at index 150 raises the core error; nothing is put, state unchanged."""
    ref = _uncached(put_job(200))
    ref = StateManager.batch_update_tasks(ref, [{"task_id": "t150", "status": "completed"}])
    reset_ray_op_counts()
    updates = [{"task_id": f"t{i}", "status": "running"} for i in range(200)]
    with pytest.raises(InvalidTransitionError) as info:
        StateManager.batch_update_tasks(ref, updates)
    assert info.value.index == 150
    assert "t150" in str(info.value)
    assert ray_op_counts()["put"] == 0
    assert StateManager.get_job_summary(ref)["running_tasks"] == 0


def test_unknown_task_in_batch_names_index_and_task():
    """An update for a task the job lacks raises UnknownTaskError with its index and id."""
    ref = put_job(2)
    with pytest.raises(UnknownTaskError) as info:
        StateManager.batch_update_tasks(
            ref, [{"task_id": "t0", "status": "running"}, {"task_id": "zz", "status": "running"}]
        )
    assert (info.value.index, info.value.value) == (1, "zz")
    assert "zz" in str(info.value)


def test_malformed_update_fails_before_any_ray_call():
    """A malformed update raises InvalidUpdateError naming the field, with no Ray call."""
    ref = _uncached(put_job(2))
    with pytest.raises(InvalidUpdateError) as info:
        StateManager.batch_update_tasks(
            ref, [{"task_id": "t0", "status": "running"}, {"task_id": "t1", "stat": "x"}]
        )
    assert (info.value.index, info.value.field) == (1, "stat")
    with pytest.raises(InvalidUpdateError) as info:
        StateManager.batch_update_tasks(ref, {"task_id": "t0", "status": "running"})
    assert info.value.field == "updates"
    assert ray_op_counts() == {"get": 0, "put": 0}


def test_refs_of_the_wrong_kind_are_refused():
    """A non-ref or a ref holding a budget raises InvalidArgumentError naming ref or state."""
    with pytest.raises(InvalidArgumentError) as info:
        StateManager.batch_update_tasks("not-a-ref", [{"task_id": "t", "status": "running"}])
    assert info.value.field == "ref"
    budget_ref = _budget()
    with pytest.raises(InvalidArgumentError):
        StateManager.get_job_summary(budget_ref)
    with pytest.raises(InvalidArgumentError):
        StateManager.batch_update_tasks(budget_ref, [{"task_id": "t", "status": "running"}])
    with pytest.raises(InvalidArgumentError):
        BudgetManager.get_budget_state(put_job(1))


def test_job_summary_is_cached_and_read_only():
    """A second summary of the same ref costs no get, and the shared summary cannot be mutated."""
    ref = _uncached(put_job(5))
    first = StateManager.get_job_summary(ref)
    second = StateManager.get_job_summary(ref)
    assert first is second
    assert ray_op_counts() == {"get": 1, "put": 0}
    assert (first["total_tasks"], first["pending_tasks"], first["is_complete"]) == (5, 5, False)
    with pytest.raises(TypeError):
        first["total_tasks"] = 0  # type: ignore[index]


def test_design_note_cache_usage_with_compute_job_summary():
    """The design note's `cache.get(ref, compute_fn=StateManager._compute_job_summary)` works."""
    ref = _uncached(put_job(4))
    cache = StateCache(ttl=5.0)
    summary = cache.get(ref, compute_fn=StateManager._compute_job_summary)
    again = cache.get(ref, compute_fn=StateManager._compute_job_summary)
    assert summary is again and summary["total_tasks"] == 4
    assert cache.stats()["ray_gets"] == 1


def test_get_results_returns_fresh_rows_for_completed_tasks():
    """Results list completed tasks in insertion order as fresh, mutable dicts."""
    ref = put_job(3)
    ref = StateManager.batch_update_tasks(
        ref,
        [
            {"task_id": "t2", "status": "completed", "result": {"n": 2}},
            {"task_id": "t0", "status": "completed", "result": {"n": 0}},
            {"task_id": "t1", "status": "failed", "error": "boom"},
        ],
    )
    rows = StateManager.get_results(ref)
    assert [r["task_id"] for r in rows] == ["t0", "t2"]
    rows[0]["result"]["n"] = 99
    assert StateManager.get_results(ref)[0]["result"] == {"n": 0}


def test_write_through_summary_after_update_needs_no_get():
    """The poller reading the ref this process just wrote costs zero ray.get calls."""
    ref = put_job(50)
    for i in range(5):
        ref = StateManager.batch_update_tasks(ref, [{"task_id": f"t{i}", "status": "completed"}])
        assert StateManager.get_job_summary(ref)["completed_tasks"] == i + 1
    assert ray_op_counts() == {"get": 0, "put": 5}


def test_initialize_budget_puts_once_and_validates_first():
    """A budget is put once; a bad config raises BudgetError with nothing put."""
    ref = BudgetManager.initialize_budget({"total_budget": 5}, [{"name": "a", "price": 1}])
    assert ray_op_counts() == {"get": 0, "put": 1}
    assert isinstance(BudgetManager.get_budget_state(ref), BudgetState)
    with pytest.raises(BudgetError) as info:
        BudgetManager.initialize_budget({"total_budget": -1}, [])
    assert info.value.field == "total_budget"
    assert ray_op_counts()["put"] == 1


def test_reserve_grants_then_refuses_with_the_same_ref():
    """Grants cost one put each; the refusal past the agent limit returns the same ref, no put."""
    ref = _uncached(_budget())
    for _ in range(3):
        ok, cost, reason, ref = BudgetManager.check_and_reserve_budget(ref, "a", None)
        assert ok and cost == Decimal(2) and "reserved" in reason
    assert ray_op_counts() == {"get": 1, "put": 3}
    ok, cost, reason, same = BudgetManager.check_and_reserve_budget(ref, "a", None)
    assert not ok and same is ref and "limit" in reason
    assert ray_op_counts()["put"] == 3
    assert BudgetManager.get_budget_summary(ref)["total_reserved"] == Decimal(6)


def test_reserve_is_idempotent_by_reservation_id():
    """Retrying a reservation id returns the first answer and reserves nothing more."""
    ref = _budget()
    ok, _, _, ref = BudgetManager.check_and_reserve_budget(ref, "a", None, reservation_id="job-1")
    ok2, _, _, same = BudgetManager.check_and_reserve_budget(ref, "a", None, "job-1")
    assert ok and ok2 and same is ref
    assert BudgetManager.get_budget_state(ref).total_reserved == Decimal(2)


def test_reserve_adds_a_new_agent_from_its_config():
    """An agent not in the budget is added with its config price."""
    ref = _budget()
    ok, cost, _, ref = BudgetManager.check_and_reserve_budget(ref, "new", {"price": "0.5"})
    assert ok and cost == Decimal("0.5")
    assert "new" in BudgetManager.get_budget_summary(ref)["agents"]


def test_release_reservation_frees_budget_and_noop_keeps_ref():
    """Releasing gives the amount back; releasing nothing returns the same ref."""
    ref = _budget()
    _, _, _, ref = BudgetManager.check_and_reserve_budget(ref, "a", None)
    ref = BudgetManager.release_reservation(ref, "a", 2)
    assert BudgetManager.get_budget_state(ref).total_reserved == 0
    assert BudgetManager.release_reservation(ref, "a", 1) is ref
    with pytest.raises(BudgetError):
        BudgetManager.release_reservation(ref, "ghost", 1)


def test_batch_record_costs_is_one_get_and_one_put_and_stamps_at():
    """Recording 50 costs on an uncached ref is one get and one put; missing `at` is stamped."""
    ref = _uncached(_budget())
    before = time.time()
    records = [
        {"agent_name": "a", "expected": 0, "actual": "0.01", "job_id": f"j{i}"} for i in range(50)
    ]
    records[0] = {**records[0], "at": 5.0}
    ref = BudgetManager.batch_record_costs(ref, records)
    assert ray_op_counts() == {"get": 1, "put": 1}
    state = BudgetManager.get_budget_state(ref)
    assert state.total_spent == Decimal("0.50")
    assert state.cost_records[0].at == 5.0
    assert before <= state.cost_records[1].at <= time.time()


def test_batch_record_costs_empty_and_replay_make_no_put():
    """No records: same ref, no Ray call; replaying recorded records: same ref, no put."""
    ref = _uncached(_budget())
    assert BudgetManager.batch_record_costs(ref, []) is ref
    assert ray_op_counts() == {"get": 0, "put": 0}
    record = {"agent_name": "a", "expected": 2, "actual": 2, "job_id": "j1", "at": 1.0}
    ref = BudgetManager.batch_record_costs(ref, [record])
    reset_ray_op_counts()
    assert BudgetManager.batch_record_costs(ref, [record]) is ref
    assert ray_op_counts()["put"] == 0


def test_batch_record_costs_validates_first_and_is_atomic():
    """A malformed record fails before Ray; a conflicting duplicate fails with nothing put."""
    ref = _uncached(_budget())
    good = {"agent_name": "a", "expected": 2, "actual": 2, "job_id": "j1"}
    with pytest.raises(BudgetError) as info:
        BudgetManager.batch_record_costs(ref, [good, {**good, "job_id": "j2", "actual": "x"}])
    assert (info.value.index, info.value.field) == (1, "actual")
    assert ray_op_counts() == {"get": 0, "put": 0}
    with pytest.raises(BudgetError) as info:
        BudgetManager.batch_record_costs(ref, [good, {**good, "actual": 3}])
    assert info.value.index == 1
    assert ray_op_counts()["put"] == 0
    assert BudgetManager.get_budget_state(ref).total_spent == 0


def test_budget_summary_is_cached_and_calculator_takes_the_state():
    """A second budget summary costs no get; BudgetCalculator works on the fetched state."""
    ref = _uncached(_budget())
    first = BudgetManager.get_budget_summary(ref)
    assert BudgetManager.get_budget_summary(ref) is first
    assert ray_op_counts() == {"get": 1, "put": 0}
    assert first["total_remaining"] == Decimal(10)
    state = BudgetManager.get_budget_state(ref)
    assert BudgetCalculator.project_total_cost(["a", "a"], state) == Decimal(4)
    assert BudgetCalculator.affordable_jobs(state, "a") == 3
