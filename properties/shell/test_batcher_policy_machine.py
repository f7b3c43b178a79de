"""A state machine drives StateBatcher's flush policy against a trivial model with a fake timer.

The model is a list of queued item names and the time the oldest was
queued. After every step the backend must have received exactly what the
policy says was due (``max_items`` reached, or the oldest item ``max_delay``
old), in the order added, and the batcher must hold exactly the rest.
"""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from properties.fakes import FakeClock
from shell.batcher import StateBatcher


class ListBackend:
    """Records every item delivered, in order (task ids and cost job ids alike)."""

    def __init__(self) -> None:
        self.delivered: list[str] = []

    def update_tasks(self, job_id: str, updates: list[Any]) -> int:
        self.delivered.extend(u.task_id for u in updates)
        return len(self.delivered)

    def record_costs(self, records: list[Any]) -> None:
        self.delivered.extend(r["job_id"] for r in records)


class PolicyMachine(RuleBasedStateMachine):
    """StateBatcher(max_items, max_delay) versus a queue model."""

    @initialize(max_items=st.integers(1, 6), max_delay=st.sampled_from([1.0, 2.5, 5.0]))
    def start(self, max_items: int, max_delay: float) -> None:
        """An empty batcher bound to a recording backend, with a fake timer."""
        self.timer = FakeClock(0.0)
        self.backend = ListBackend()
        self.batcher = StateBatcher(
            clock=lambda: 1.0,
            backend=self.backend,
            job_id="j",
            max_items=max_items,
            max_delay=max_delay,
            timer=self.timer,
        )
        self.max_items, self.max_delay = max_items, max_delay
        self.queued: list[str] = []
        self.oldest: float | None = None
        self.expected_delivered: list[str] = []
        self.count = 0

    def _due(self) -> bool:
        return bool(self.queued) and (
            len(self.queued) >= self.max_items
            or (self.oldest is not None and self.timer.now - self.oldest >= self.max_delay)
        )

    def _flush_model(self) -> None:
        # A flush sends the task updates first, then the cost records.
        updates = [name for name in self.queued if name.startswith("t")]
        records = [name for name in self.queued if name.startswith("c")]
        self.expected_delivered += updates + records
        self.queued, self.oldest = [], None

    def _queue(self, name: str) -> None:
        self.queued.append(name)
        if self.oldest is None:
            self.oldest = self.timer.now
        if self._due():
            self._flush_model()

    @rule()
    def add_update(self) -> None:
        """An update is queued, and flushes everything if the policy is then due."""
        self.count += 1
        self.batcher.add_task_update(f"t{self.count}", "running")
        self._queue(f"t{self.count}")

    @rule()
    def add_cost(self) -> None:
        """A cost record is queued, and flushes everything if the policy is then due."""
        self.count += 1
        self.batcher.add_cost_record("a", 1, 1, f"c{self.count}")
        self._queue(f"c{self.count}")

    @rule(seconds=st.sampled_from([0.5, 1.0, 3.0]))
    def tick(self, seconds: float) -> None:
        """Time passes; nothing flushes by itself."""
        self.timer.now += seconds

    @rule()
    def flush_if_due(self) -> None:
        """The driver's poll: flushes exactly when the model says it is due."""
        due = self._due()
        assert self.batcher.flush_if_due() is due
        if due:
            self._flush_model()

    @rule()
    def clear(self) -> None:
        """Clearing returns the queue and restarts the delay."""
        dropped = self.batcher.clear()
        names = [u.task_id for u in dropped.task_updates]
        names += [r["job_id"] for r in dropped.cost_records]
        assert sorted(names) == sorted(self.queued)
        self.queued, self.oldest = [], None

    @invariant()
    def delivered_and_queued_match_the_model(self) -> None:
        """The backend got exactly the due flushes, in order; the batcher holds the rest."""
        assert self.backend.delivered == self.expected_delivered
        pending = self.batcher.pending()
        held = [u.task_id for u in pending.task_updates] + [
            r["job_id"] for r in pending.cost_records
        ]
        assert sorted(held) == sorted(self.queued)


TestPolicyMachine = PolicyMachine.TestCase
TestPolicyMachine.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
