"""The demo with a `StateStore`: several writer tasks reserve, run and report concurrently.

Each writer is a Ray task that works through its share of a round: it
reserves every job with the store (check and reserve are one step in the
actor, so writers cannot overspend together), adds the granted tasks, plays
the agents' jobs on the simulated clock and flushes its `StateBatcher` into
the store. The driver polls ``poll_job``, which moves no data while nothing
changed, and plans round 2 from the store's budget state.
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Any

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
    split_round,
)
from shell.demo.simulation import Outcome
from shell.ray_ops import ray_op_counts
from shell.store import StateStore

__all__ = ["run_store", "store_writer"]


@ray.remote(num_cpus=0.25, max_retries=0)
def store_writer(
    store: StateStore,
    job_id: str,
    share: list[tuple[PlannedTask, AgentSpec]],
    description: str,
    options: RunOptions,
) -> dict[str, Any]:
    """Run one writer's share of a round against the store.

    Args:
        store: The store handle (it pickles into the task).
        job_id: The job in the store.
        share: This writer's planned tasks with their agents.
        description: The audience description, for the tasks' input.
        options: The run's options (seed, speed, flush interval).

    Returns:
        ``granted`` (task, expected cost), ``refused`` rows, ``outcomes`` in
        recording order, ``tally`` (an `OpTally`), ``ops`` (this writer's shell
        Ray operations) and ``flushes``.
    """
    before = ray_op_counts()
    tally = OpTally(creations=0)
    granted: list[tuple[PlannedTask, AgentSpec, Decimal]] = []
    refused: list[dict[str, str]] = []
    for task, agent in share:
        decision = store.reserve(agent.name, agent.budget_config(), reservation_id=task.task_id)
        if sort_reservation(decision, task, tally, refused):
            granted.append((task, agent, decision.expected_cost))
    if granted:
        store.add_tasks(job_id, [task.spec(description) for task, _, _ in granted])
        tally.tasks_added += len(granted)
    # The batcher's policy flushes at FLUSH_SIZE items or after the flush interval.
    batcher = StateBatcher(
        backend=store, job_id=job_id, max_items=FLUSH_SIZE, max_delay=options.flush_interval
    )
    for task, _, _ in granted:
        batcher.add_task_update(task.task_id, "running")
        tally.status_updates += 1
    batcher.flush()
    outcomes: list[Outcome] = []
    start = time.monotonic()
    for outcome, expected in schedule(options.seed, granted):
        delay = start + outcome.duration * options.speed - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        outcomes.append(outcome)
        batcher.add_task_update(
            outcome.task_id, outcome.status, result=outcome.result, error=outcome.error
        )
        batcher.add_cost_record(outcome.agent_name, expected, outcome.cost, outcome.task_id)
        tally.reported()
    batcher.close()
    return {
        "granted": [(task, expected) for task, _, expected in granted],
        "refused": refused,
        "outcomes": outcomes,
        "tally": tally,
        "ops": op_delta(before, ray_op_counts()),
        "flushes": batcher.flushes,
    }


class _StoreDriver:
    """One run against a store; the driver plans and polls, writer tasks write."""

    def __init__(self, config: DemoConfig, options: RunOptions, progress: LiveProgress) -> None:
        self.config = config
        self.options = options
        self.progress = progress
        self.tally = OpTally()
        self.writer_ops = {"get": 0, "put": 0, "total": 0}
        self.flushes = 0
        self.store_name = f"demo-{uuid.uuid4().hex[:8]}"
        self.chaos = _Chaos(self.store_name, options.chaos)
        self.store = StateStore.create(
            config.budget_config(),
            config.agents_config(),
            name=self.store_name if options.journal else None,
            journal=options.journal,
        )
        self.job_id = self.store.create_job(config.description)
        self.version: int | None = None
        self.job: dict[str, Any] | None = None
        self.budget: dict[str, Any] = self.store.budget_summary()

    def show(self, label: str) -> None:
        """Poll the store; fetch the budget summary only when the job changed."""
        version, summary = self.store.poll_job(self.job_id, self.version)
        self.tally.status_reads += 2
        if summary is not None:
            self.version, self.job = version, summary
            self.budget = self.store.budget_summary()
        if self.job is not None:
            self.progress.show(label, self.job, self.budget, 0)
        self.chaos.strike()

    def run_round(self, plan: RoundPlan) -> RoundRecord:
        """Split the plan over the writers, start them, poll until they are all done."""
        label = f"round {plan.round} ({self.options.writers} writers)"
        record = RoundRecord(plan)
        pending = [
            store_writer.remote(
                self.store, self.job_id, share, self.config.description, self.options
            )
            for share in split_round(self.config, plan, self.options.writers)
        ]
        while pending:
            ready, pending = ray.wait(
                pending, num_returns=len(pending), timeout=self.options.poll_interval
            )
            for report in ray.get(ready):
                record.granted.extend(report["granted"])
                record.refused.extend(report["refused"])
                record.outcomes.extend(report["outcomes"])
                self.tally.merge(report["tally"])
                self.flushes += report["flushes"]
                for key in self.writer_ops:
                    self.writer_ops[key] += report["ops"][key]
            self.show(label)
        return record


class _Chaos:
    """Kills the journaled store's actor ``times`` times, at most once per `_CHAOS_GAP` seconds.

    Ray restarts it (``max_restarts=-1``) and it recovers from its journal; the
    writers' calls in flight are retried under their command ids.
    """

    def __init__(self, store_name: str, times: int) -> None:
        self.store_name = store_name
        self.left = times
        self.kills = 0
        self.last = time.monotonic()

    def strike(self) -> None:
        """Kill the store's actor if a kill is due."""
        if self.left <= 0 or time.monotonic() - self.last < _CHAOS_GAP:
            return
        ray.kill(ray.get_actor(self.store_name), no_restart=False)
        self.left -= 1
        self.kills += 1
        self.last = time.monotonic()


# Seconds between two chaos kills: the restarted store serves a few polls first.
_CHAOS_GAP = 0.3


def _books(state: Any, rounds: list[RoundRecord], info: dict[str, Any]) -> dict[str, Any]:
    """Check that the books balance after the run: nothing lost, nothing counted twice."""
    records = list(state.cost_records)
    outcomes = sum(len(record.outcomes) for record in rounds)
    checks = {
        "one cost record per finished job": len(records) == outcomes,
        "spent equals the sum of the records": state.total_spent
        == sum((r.actual for r in records), Decimal(0)),
        "reserved equals the agents' reservations": state.total_reserved
        == sum((a.reserved for a in state.agents.values()), Decimal(0)),
        "nothing reserved below zero": state.total_reserved >= 0,
    }
    return {
        "journal": info["journal"],
        "commands": info["applied"],
        "checks": checks,
        "balanced": all(checks.values()),
    }


def run_store(config: DemoConfig, options: RunOptions, progress: LiveProgress) -> RunResult:
    """Play two rounds with concurrent writer tasks against one `StateStore`.

    Args:
        config: The agents file.
        options: The run's options.
        progress: Where live progress goes.

    Returns:
        The `RunResult`; ``ops`` counts the driver's and every writer's calls.

    Raises:
        StateError: the store or the core refused something.
    """
    started = time.monotonic()
    before = ray_op_counts()
    driver = _StoreDriver(config, options, progress)
    try:
        first = driver.run_round(plan_first_round(config, options.tasks))
        second = driver.run_round(
            plan_second_round(options, driver.store.budget_state(), first, driver.tally)
        )
        final = read_final_states(driver.store, driver.job_id)
        durability = None
        if options.journal:
            durability = _books(final.budget_state, [first, second], driver.store.info())
            durability.update(store=driver.store_name, kills=driver.chaos.kills)
    finally:
        driver.store.shutdown()
    ops = op_delta(before, ray_op_counts())
    for key in ops:
        ops[key] += driver.writer_ops[key]
    return finish_run(
        "store",
        config,
        options,
        [first, second],
        final,
        driver.tally,
        ops=ops,
        flushes=driver.flushes,
        polls=driver.progress.updates,
        started=started,
        durability=durability,
    )
