"""A state machine drives `StateBatcher` on real ObjectRefs against a list model with a fake clock.

The model is two plain lists (what is queued, in order) and two plain
ledgers (each task's status under the lifecycle rules, each paid job's
cost). Every flush must apply exactly the queue, in order, all or nothing,
in at most one ``ray.get`` and one ``ray.put``; a refused flush keeps the
queue; ``at`` is the fake clock's reading when an item was added.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from core.errors import BudgetError, InvalidUpdateError, StateError
from properties.fakes import FakeClock
from shell import BudgetManager, StateBatcher, StateManager, ray_op_counts

TASKS = ("t0", "t1")  # few tasks, so one task often gets several updates in a batch
ALLOWED = {
    "pending": {"running", "completed", "failed"},
    "running": {"completed", "failed"},
    "completed": set(),
    "failed": set(),
}
pytestmark = pytest.mark.usefixtures("ray_session")


def _ops() -> tuple[int, int]:
    counts = ray_op_counts()
    return counts["get"], counts["put"]


class BatcherMachine(RuleBasedStateMachine):
    """StateBatcher versus a queue model and sequential application of the lifecycle rules."""

    @initialize()
    def start(self) -> None:
        """A job of two pending tasks, an unlimited budget, an empty batcher."""
        self.clock = FakeClock(start=1_000.0)
        self.batcher = StateBatcher(clock=self.clock)
        _, self.job_ref = StateManager.create_job_execution("machine audience")
        self.job_ref = StateManager.add_agent_tasks(
            self.job_ref, [{"task_id": t, "agent_name": "scout"} for t in TASKS]
        )
        self.budget_ref = BudgetManager.initialize_budget({}, [{"name": "scout", "price": 1}])
        self.statuses = dict.fromkeys(TASKS, "pending")
        self.queued_updates: list[tuple[str, str, float]] = []
        self.spent: dict[str, Decimal] = {}
        self.queued_costs: list[tuple[str, Decimal, float]] = []

    @rule(seconds=st.integers(min_value=1, max_value=30))
    def tick(self, seconds: int) -> None:
        """Time passes."""
        self.clock.now += seconds

    @rule(
        task_id=st.sampled_from((*TASKS, "ghost")),
        status=st.sampled_from(["pending", "running", "completed", "failed"]),
    )
    def add_update(self, task_id: str, status: str) -> None:
        """A well-formed report is queued with the clock's time (a ghost id fails at flush)."""
        self.batcher.add_task_update(task_id, status)
        self.queued_updates.append((task_id, status, self.clock.now))

    @rule(status=st.sampled_from(["done", "", "RUNNING"]))
    def add_malformed_update(self, status: str) -> None:
        """A malformed status is refused at once and queues nothing."""
        with pytest.raises(InvalidUpdateError):
            self.batcher.add_task_update("t0", status)

    @rule(
        job_id=st.sampled_from(["j0", "j1", "j2"]),
        actual=st.sampled_from(["0.1", "0.25", "1", "2.5"]),
    )
    def add_cost(self, job_id: str, actual: str) -> None:
        """A cost record is queued (a second one for the same paid job may conflict at flush)."""
        self.batcher.add_cost_record("scout", "1", actual, job_id)
        self.queued_costs.append((job_id, Decimal(actual), self.clock.now))

    @rule()
    def add_negative_cost(self) -> None:
        """A negative amount is refused at once and queues nothing."""
        with pytest.raises(BudgetError):
            self.batcher.add_cost_record("scout", "1", "-1", "j9")

    def _expected_statuses(self) -> dict[str, str] | None:
        """The model's statuses after the queue, or None when a queued update must fail."""
        statuses = dict(self.statuses)
        for task_id, status, _ in self.queued_updates:
            current = statuses.get(task_id)
            if current is None or (status != current and status not in ALLOWED[current]):
                return None
            statuses[task_id] = status
        return statuses

    @rule()
    def flush_updates(self) -> None:
        """A flush applies the whole queue in order in <= 1 get + 1 put, or nothing at all."""
        expected = self._expected_statuses()
        before = _ops()
        if expected is None:
            with pytest.raises(StateError):
                self.batcher.flush_task_updates(self.job_ref)
            return
        new_ref = self.batcher.flush_task_updates(self.job_ref)
        gets, puts = (now - then for now, then in zip(_ops(), before, strict=True))
        if not self.queued_updates:
            assert new_ref is self.job_ref and (gets, puts) == (0, 0)
        else:
            assert gets <= 1 and puts <= 1
        job = StateManager.get_job_execution(new_ref)
        assert {t: job.tasks[t].status.value for t in TASKS} == expected
        self.job_ref, self.statuses, self.queued_updates = new_ref, expected, []

    def _expected_spent(self) -> dict[str, Decimal] | None:
        spent = dict(self.spent)
        for job_id, actual, _ in self.queued_costs:
            if job_id in spent and spent[job_id] != actual:
                return None  # a conflicting duplicate refuses the whole batch
            spent[job_id] = actual
        return spent

    @rule()
    def flush_costs(self) -> None:
        """A cost flush records each paid job once, in order, or refuses the whole batch."""
        expected = self._expected_spent()
        if expected is None:
            with pytest.raises(BudgetError):
                self.batcher.flush_budget_updates(self.budget_ref)
            return
        self.budget_ref = self.batcher.flush_budget_updates(self.budget_ref)
        state = BudgetManager.get_budget_state(self.budget_ref)
        assert state.total_spent == sum(expected.values(), Decimal(0))
        self.spent, self.queued_costs = expected, []

    @rule()
    def clear(self) -> None:
        """Clearing drops exactly what was queued and returns it."""
        dropped = self.batcher.clear()
        assert len(dropped.task_updates) == len(self.queued_updates)
        assert len(dropped.cost_records) == len(self.queued_costs)
        self.queued_updates, self.queued_costs = [], []

    @invariant()
    def queue_matches_model(self) -> None:
        """What is pending is what the model queued, in order, stamped with the clock's times."""
        pending = self.batcher.pending()
        assert [(u.task_id, u.status.value, u.at) for u in pending.task_updates] == (
            self.queued_updates
        )
        assert [(r["job_id"], r["actual"], r["at"]) for r in pending.cost_records] == (
            self.queued_costs
        )
        assert len(self.batcher) == len(self.queued_updates) + len(self.queued_costs)


TestBatcherMachine = BatcherMachine.TestCase
TestBatcherMachine.settings = settings(max_examples=50, stateful_step_count=20, deadline=None)
