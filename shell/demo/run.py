"""The demo's driver with refs: reserve, submit, poll through the cache, batch, plan, repeat.

The job and the budget live in Ray's object store as immutable states; the
driver is their only writer, so passing refs is safe. Outcomes are recorded
in the order the simulated marketplace finished them (by simulated finish
time), not in whatever order Ray's scheduler returned them, so a seed
reproduces the ledger and therefore round 2's plan exactly.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import ray

from core.budget.reducers import BudgetState
from core.jobs.summary import job_results
from shell.batcher import StateBatcher
from shell.demo.config import AgentSpec, DemoConfig
from shell.demo.plan import PlannedTask, RoundPlan, plan_first_round, plan_refinement
from shell.demo.progress import LiveProgress
from shell.demo.simulation import Outcome, draw_outcome, run_agent_job
from shell.managers import BudgetManager, StateManager, default_cache
from shell.ray_ops import ray_op_counts

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

#: Flush as soon as this many updates are waiting, whatever the interval.
FLUSH_SIZE = 32


@dataclass(frozen=True)
class RunOptions:
    """What the command line asked for.

    Attributes:
        tasks: Round-1 jobs to plan.
        seed: Seeds every simulated draw.
        speed: Multiplier of simulated durations.
        store: Run concurrent writers against a `StateStore` instead of refs.
        writers: Number of concurrent writer tasks with ``store``.
        journal: With ``store``, the store's journal URL (a durable store), or None.
        chaos: With ``journal``, how many times to kill the store's actor mid-run.
    """

    tasks: int
    seed: int
    speed: float
    store: bool = False
    writers: int = 4
    journal: str | None = None
    chaos: int = 0

    @property
    def poll_interval(self) -> float:
        """Seconds between polls: a quarter of a simulated second, within [0.02, 0.25]."""
        return min(0.25, max(0.02, 0.25 * self.speed))

    @property
    def refinement_jobs(self) -> int:
        """Round-2 jobs wished for before the budget is consulted: half of round 1, at least 1."""
        return max(1, (self.tasks + 1) // 2)

    @property
    def flush_interval(self) -> float:
        """Longest time collected updates wait before a flush: one simulated second."""
        return min(1.0, max(0.05, self.speed))


@dataclass
class OpTally:
    """Events of a run and what the unbatched, uncached pattern would pay for them.

    That pattern (``bench/baseline.py``) does one ``ray.get`` + ``ray.put`` per
    single write (a reservation that is refused only reads), and a full
    ``ray.get`` for every status read; agent results cost the same in both
    patterns and are counted in neither.
    """

    creations: int = 2
    reservations: int = 0
    grants: int = 0
    tasks_added: int = 0
    status_updates: int = 0
    cost_records: int = 0
    status_reads: int = 0
    state_reads: int = 0

    def baseline(self) -> dict[str, int]:
        """Return ``{"get", "put", "total"}`` the unbatched, uncached pattern needs."""
        writes = self.tasks_added + self.status_updates + self.cost_records
        gets = self.reservations + writes + self.status_reads + self.state_reads
        puts = self.creations + self.grants + writes
        return {"get": gets, "put": puts, "total": gets + puts}

    def merge(self, other: OpTally) -> None:
        """Add another tally's events to this one (creations excepted)."""
        for name in (
            "reservations",
            "grants",
            "tasks_added",
            "status_updates",
            "cost_records",
            "status_reads",
            "state_reads",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def op_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Return the shell's Ray operations between two `ray_op_counts` readings."""
    gets = after["get"] - before["get"]
    puts = after["put"] - before["put"]
    return {"get": gets, "put": puts, "total": gets + puts}


@dataclass
class RoundRecord:
    """What happened in one round.

    Attributes:
        plan: The round's plan.
        granted: ``(task, expected cost)`` per reservation granted.
        refused: ``{"task_id", "agent_name", "reason"}`` per reservation refused.
        outcomes: The agents' reports, in recording order.
    """

    plan: RoundPlan
    granted: list[tuple[PlannedTask, Decimal]] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)


@dataclass
class RunResult:
    """Everything the final report shows.

    Attributes:
        mode: ``"refs"`` or ``"store"``.
        options: The run's options.
        config: The agents file.
        rounds: One record per round.
        job_summary: The final job summary.
        budget_state: The final budget state.
        budget_summary: The final budget summary.
        results: Completed tasks' rows.
        tally: Events, for the baseline count.
        ops: The shell's Ray operations actually used.
        flushes: Batcher flushes made (each flush writes job and budget at most once).
        polls: Progress polls made.
        cache: The driver's cache statistics, when it read through one.
        elapsed: Seconds the run took (Ray start excluded).
        durability: With a journal: the kills survived and the books' checks.
    """

    mode: str
    options: RunOptions
    config: DemoConfig
    rounds: list[RoundRecord]
    job_summary: dict[str, Any]
    budget_state: BudgetState
    budget_summary: dict[str, Any]
    results: list[dict[str, Any]]
    tally: OpTally
    ops: dict[str, int]
    flushes: int
    polls: int
    cache: dict[str, Any] | None
    elapsed: float
    durability: dict[str, Any] | None = None


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
    drawn = [
        (draw_outcome(seed, task.task_id, agent).duration, task.task_id) for task, agent in tasks
    ]
    return [task_id for _, task_id in sorted(drawn)]


def completed_by_agent(record: RoundRecord) -> dict[str, int]:
    """Return completed jobs per agent in a round, every planned agent included."""
    counts = {task.agent_name: 0 for task in record.plan.tasks}
    for outcome in record.outcomes:
        if outcome.ok:
            counts[outcome.agent_name] += 1
    return counts


class _RefsDriver:
    """One run with refs; the driver is the only writer of the job and the budget."""

    def __init__(self, config: DemoConfig, options: RunOptions, progress: LiveProgress) -> None:
        self.config = config
        self.options = options
        self.progress = progress
        self.tally = OpTally()
        self.batcher = StateBatcher()
        self.flushes = 0
        self.job_id, self.job_ref = StateManager.create_job_execution(config.description)
        self.budget_ref = BudgetManager.initialize_budget(
            config.budget_config(), config.agents_config()
        )

    def flush(self) -> None:
        """Apply everything collected: one job write and one budget write at most."""
        if not len(self.batcher):
            return
        self.job_ref = self.batcher.flush_task_updates(self.job_ref)
        self.budget_ref = self.batcher.flush_budget_updates(self.budget_ref)
        self.flushes += 1

    def show(self, label: str) -> None:
        """Poll the job and budget summaries through the cache and redraw."""
        job = StateManager.get_job_summary(self.job_ref)
        budget = BudgetManager.get_budget_summary(self.budget_ref)
        self.tally.status_reads += 2
        self.progress.show(label, job, budget, len(self.batcher))

    def reserve(self, plan: RoundPlan) -> RoundRecord:
        """Reserve each planned job; refusals are recorded, not raised."""
        record = RoundRecord(plan)
        for task in plan.tasks:
            agent = self.config.agent(task.agent_name)
            can, expected, reason, self.budget_ref = BudgetManager.check_and_reserve_budget(
                self.budget_ref, agent.name, agent.budget_config(), reservation_id=task.task_id
            )
            self.tally.reservations += 1
            if can:
                self.tally.grants += 1
                record.granted.append((task, expected))
            else:
                record.refused.append(
                    {"task_id": task.task_id, "agent_name": agent.name, "reason": reason}
                )
        return record

    def run_round(self, plan: RoundPlan) -> RoundRecord:
        """Reserve, submit, poll until every job reported, flushing in batches."""
        label = f"round {plan.round}"
        record = self.reserve(plan)
        specs = [task.spec(self.config.description) for task, _ in record.granted]
        self.job_ref = StateManager.add_agent_tasks(self.job_ref, specs)
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
        last_flush = time.monotonic()
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
                    outcome.task_id,
                    "completed" if outcome.ok else "failed",
                    result=outcome.result,
                    error=outcome.error,
                )
                self.batcher.add_cost_record(
                    outcome.agent_name, expected[outcome.task_id], outcome.cost, outcome.task_id
                )
                self.tally.status_updates += 1
                self.tally.cost_records += 1
            waited = time.monotonic() - last_flush
            if (
                not pending
                or len(self.batcher) >= FLUSH_SIZE
                or waited >= self.options.flush_interval
            ):
                self.flush()
                last_flush = time.monotonic()
            self.show(label)
        return record

    def budget_state(self) -> BudgetState:
        """Read the budget state for the calculator (through the cache)."""
        self.tally.state_reads += 1
        return BudgetManager.get_budget_state(self.budget_ref)


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
    second_plan = plan_refinement(
        driver.budget_state(), completed_by_agent(first), options.refinement_jobs
    )
    second = driver.run_round(second_plan)
    summary = dict(StateManager.get_job_summary(driver.job_ref))
    state = driver.budget_state()
    budget_summary = dict(BudgetManager.get_budget_summary(driver.budget_ref))
    results = job_results(StateManager.get_job_execution(driver.job_ref))
    # The unbatched pattern gets by with one fetch of each state for the final report.
    driver.tally.status_reads += 1
    cache_after = default_cache().stats()
    return RunResult(
        mode="refs",
        options=options,
        config=config,
        rounds=[first, second],
        job_summary=summary,
        budget_state=state,
        budget_summary=budget_summary,
        results=results,
        tally=driver.tally,
        ops=op_delta(before, ray_op_counts()),
        flushes=driver.flushes,
        polls=driver.progress.updates,
        cache={
            key: cache_after[key] - cache_before[key]
            for key in ("hits", "misses", "ray_gets", "evictions")
        },
        elapsed=time.monotonic() - started,
    )
