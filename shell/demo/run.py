"""The demo's driver with refs: reserve, submit, poll through the cache, batch, plan, repeat.

The job and the budget live in Ray's object store as immutable states; the
driver is their only writer, so passing refs is safe. Outcomes are recorded
in the order the simulated marketplace finished them (by simulated finish
time), not in whatever order Ray's scheduler returned them, so a seed
reproduces the ledger and therefore round 2's plan exactly. What a run is
made of (options, tally, records, result) lives in `shell.demo.records`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import ray

from shell.batcher import StateBatcher
from shell.demo.config import AgentSpec, DemoConfig
from shell.demo.plan import PlannedTask, RoundPlan, plan_first_round
from shell.demo.progress import LiveProgress
from shell.demo.records import (
    FLUSH_SIZE,
    OpTally,
    RoundRecord,
    RunOptions,
    RunResult,
    finish_run,
    op_delta,
    plan_second_round,
    read_final_states,
    schedule,
    sort_reservation,
)
from shell.demo.simulation import Outcome, run_agent_job
from shell.managers import default_cache
from shell.ray_ops import ray_op_counts
from shell.refstore import RefStore

# The records were defined here first: their old home still names them.
__all__ = [
    "FLUSH_SIZE",
    "InOrder",
    "OpTally",
    "RoundRecord",
    "RunOptions",
    "RunResult",
    "op_delta",
    "run_refs",
]


class InOrder:
    """Releases outcomes in simulated finish order, each once every earlier one has arrived.

    Args:
        task_ids: The round's tasks, sorted by simulated finish time.
    """

    def __init__(self, task_ids: Iterable[str]) -> None:
        self._order = list(task_ids)
        self._next = 0
        self._ready: dict[str, Outcome] = {}

    def add(self, outcome: Outcome) -> None:
        """Hold an outcome that Ray returned."""
        self._ready[outcome.task_id] = outcome

    def release(self) -> list[Outcome]:
        """Return the outcomes now in order, oldest simulated finish first."""
        out = []
        while self._next < len(self._order) and self._order[self._next] in self._ready:
            out.append(self._ready.pop(self._order[self._next]))
            self._next += 1
        return out


def finish_order(seed: int, tasks: Iterable[tuple[PlannedTask, AgentSpec]]) -> list[str]:
    """Return task ids sorted by simulated finish time (all of a round start together)."""
    return [outcome.task_id for outcome, _ in schedule(seed, ((t, a, None) for t, a in tasks))]


class _RefsDriver:
    """One run with refs; the driver is the only writer of the job and the budget."""

    def __init__(self, config: DemoConfig, options: RunOptions, progress: LiveProgress) -> None:
        self.config = config
        self.options = options
        self.progress = progress
        self.tally = OpTally()
        # A RefStore holds the current refs (StateManager/BudgetManager underneath);
        # StateStore.create here would give the store mode's backend.
        self.refs = RefStore.create(config.budget_config(), config.agents_config())
        self.job_id = self.refs.create_job(config.description)
        # The batcher's policy flushes at FLUSH_SIZE items or after the flush interval.
        self.batcher = StateBatcher(
            backend=self.refs,
            job_id=self.job_id,
            max_items=FLUSH_SIZE,
            max_delay=options.flush_interval,
        )

    @property
    def flushes(self) -> int:
        """Batcher flushes made (each writes the job and the budget at most once)."""
        return self.batcher.flushes

    def show(self, label: str) -> None:
        """Poll the job and budget summaries through the cache and redraw."""
        job = self.refs.job_summary(self.job_id)
        budget = self.refs.budget_summary()
        self.tally.status_reads += 2
        self.progress.show(label, job, budget, len(self.batcher))

    def reserve(self, plan: RoundPlan) -> RoundRecord:
        """Reserve each planned job; refusals are recorded, not raised."""
        record = RoundRecord(plan)
        for task in plan.tasks:
            agent = self.config.agent(task.agent_name)
            decision = self.refs.reserve(
                agent.name, agent.budget_config(), reservation_id=task.task_id
            )
            if sort_reservation(decision, task, self.tally, record.refused):
                record.granted.append((task, decision.expected_cost))
        return record

    def run_round(self, plan: RoundPlan) -> RoundRecord:
        """Reserve, submit, poll until every job reported, flushing in batches."""
        label = f"round {plan.round}"
        record = self.reserve(plan)
        specs = [task.spec(self.config.description) for task, _ in record.granted]
        self.refs.add_tasks(self.job_id, specs)
        self.tally.tasks_added += len(specs)
        expected = {task.task_id: cost for task, cost in record.granted}
        pairs = [(task, self.config.agent(task.agent_name)) for task, _ in record.granted]
        pending = [
            run_agent_job.remote(self.options.seed, task.task_id, agent, self.options.speed)
            for task, agent in pairs
        ]
        for task, _ in pairs:
            self.batcher.add_task_update(task.task_id, "running")
            self.tally.status_updates += 1
        order = InOrder(finish_order(self.options.seed, pairs))
        while pending or len(self.batcher):
            if pending:
                ready, pending = ray.wait(
                    pending, num_returns=len(pending), timeout=self.options.poll_interval
                )
                for outcome in ray.get(ready):
                    order.add(outcome)
            for outcome in order.release():
                record.outcomes.append(outcome)
                self.batcher.add_task_update(
                    outcome.task_id, outcome.status, result=outcome.result, error=outcome.error
                )
                self.batcher.add_cost_record(
                    outcome.agent_name, expected[outcome.task_id], outcome.cost, outcome.task_id
                )
                self.tally.reported()
            if not pending:
                self.batcher.flush()
            else:
                self.batcher.flush_if_due()
            self.show(label)
        return record


def run_refs(config: DemoConfig, options: RunOptions, progress: LiveProgress) -> RunResult:
    """Play two rounds with the job and budget passed by ref.

    Args:
        config: The agents file.
        options: The run's options.
        progress: Where live progress goes.

    Returns:
        The `RunResult`.

    Raises:
        StateError: the shell or the core refused something (a bug, not a refusal).
    """
    started = time.monotonic()
    before = ray_op_counts()
    cache_before = default_cache().stats()
    driver = _RefsDriver(config, options, progress)
    first = driver.run_round(plan_first_round(config, options.tasks))
    second = driver.run_round(
        plan_second_round(options, driver.refs.budget_state(), first, driver.tally)
    )
    final = read_final_states(driver.refs, driver.job_id)
    cache_after = default_cache().stats()
    return finish_run(
        "refs",
        config,
        options,
        [first, second],
        final,
        driver.tally,
        ops=op_delta(before, ray_op_counts()),
        flushes=driver.flushes,
        polls=driver.progress.updates,
        started=started,
        cache={
            key: cache_after[key] - cache_before[key]
            for key in ("hits", "misses", "ray_gets", "evictions")
        },
    )
