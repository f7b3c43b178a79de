"""What a demo run is made of, and the steps its three modes take the same way.

The refs mode (`shell.demo.run`), the store mode (`shell.demo.store_mode`) and
the async mode (`shell.demo.async_mode`) differ in where the state lives and
how they wait; each of them plans, splits a round over its writers, sorts a
reservation's answer, plays outcomes in simulated finish order, reads the
final states and assembles its `RunResult` with the functions here, so the
report (`shell.demo.report`) is fed the same way whatever the mode.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from core.budget.reducers import BudgetState, ReservationDecision
from core.jobs.job import JobExecution
from core.jobs.summary import job_results
from shell.backend import StateBackend
from shell.demo.config import AgentSpec, DemoConfig
from shell.demo.plan import PlannedTask, RoundPlan, plan_refinement
from shell.demo.simulation import Outcome, draw_outcome

__all__ = [
    "FLUSH_SIZE",
    "FinalStates",
    "OpTally",
    "RoundRecord",
    "RunOptions",
    "RunResult",
    "completed_by_agent",
    "finish_run",
    "op_delta",
    "plan_second_round",
    "read_final_states",
    "schedule",
    "sort_reservation",
    "split_round",
]

_Cost = TypeVar("_Cost")

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

    def reported(self) -> None:
        """Count one outcome queued for the store: a status update and a cost record."""
        self.status_updates += 1
        self.cost_records += 1


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
        mode: ``"refs"``, ``"store"`` or ``"async"``.
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


def schedule(
    seed: int, granted: Iterable[tuple[PlannedTask, AgentSpec, _Cost]]
) -> list[tuple[Outcome, _Cost]]:
    """Return each job's outcome with its cost, in simulated finish order (all start together)."""
    drawn = ((draw_outcome(seed, task.task_id, agent), cost) for task, agent, cost in granted)
    return sorted(drawn, key=lambda pair: (pair[0].duration, pair[0].task_id))


def completed_by_agent(record: RoundRecord) -> dict[str, int]:
    """Return completed jobs per agent in a round, every planned agent included."""
    counts = {task.agent_name: 0 for task in record.plan.tasks}
    for outcome in record.outcomes:
        if outcome.ok:
            counts[outcome.agent_name] += 1
    return counts


def split_round(
    config: DemoConfig, plan: RoundPlan, writers: int
) -> list[list[tuple[PlannedTask, AgentSpec]]]:
    """Deal a round's tasks, with their agents, over at most ``writers`` writers; no empty share."""
    count = max(1, min(writers, len(plan.tasks)))
    shares: list[list[tuple[PlannedTask, AgentSpec]]] = [[] for _ in range(count)]
    for index, task in enumerate(plan.tasks):
        shares[index % count].append((task, config.agent(task.agent_name)))
    return [share for share in shares if share]


def sort_reservation(
    decision: ReservationDecision,
    task: PlannedTask,
    tally: OpTally,
    refused: list[dict[str, str]],
) -> bool:
    """Count one reservation's answer; note a refusal in ``refused``. True when it was granted."""
    tally.reservations += 1
    if decision.can_afford:
        tally.grants += 1
        return True
    refused.append(
        {"task_id": task.task_id, "agent_name": task.agent_name, "reason": decision.reason}
    )
    return False


def plan_second_round(
    options: RunOptions, state: BudgetState, first: RoundRecord, tally: OpTally
) -> RoundPlan:
    """Plan round 2 from the budget ``state`` read (and counted here) after round 1."""
    tally.state_reads += 1
    return plan_refinement(state, completed_by_agent(first), options.refinement_jobs)


@dataclass(frozen=True)
class FinalStates:
    """What a run reads of the job and the budget once both rounds are over."""

    job_summary: dict[str, Any]
    budget_state: BudgetState
    budget_summary: dict[str, Any]
    job: JobExecution


def read_final_states(backend: StateBackend, job_id: str) -> FinalStates:
    """Read the final states through either backend (a `RefStore` or a `StateStore`)."""
    return FinalStates(
        backend.job_summary(job_id),
        backend.budget_state(),
        backend.budget_summary(),
        backend.job_state(job_id),
    )


def finish_run(
    mode: str,
    config: DemoConfig,
    options: RunOptions,
    rounds: Sequence[RoundRecord],
    final: FinalStates,
    tally: OpTally,
    *,
    ops: dict[str, int],
    flushes: int,
    polls: int,
    started: float,
    cache: dict[str, Any] | None = None,
    durability: dict[str, Any] | None = None,
) -> RunResult:
    """Assemble the `RunResult` of any mode: the one place a run's report inputs come together.

    Counts the final reads in ``tally`` (the unbatched pattern gets by with
    one read of each state for the report) and the elapsed time since the
    monotonic reading ``started``.
    """
    tally.state_reads += 1
    tally.status_reads += 1
    return RunResult(
        mode=mode,
        options=options,
        config=config,
        rounds=list(rounds),
        job_summary=dict(final.job_summary),
        budget_state=final.budget_state,
        budget_summary=dict(final.budget_summary),
        results=job_results(final.job),
        tally=tally,
        ops=ops,
        flushes=flushes,
        polls=polls,
        cache=cache,
        elapsed=time.monotonic() - started,
        durability=durability,
    )
