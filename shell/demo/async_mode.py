"""The demo in one event loop: flows as coroutines, an `AsyncStateStore`, a watcher for progress.

Each flow is a coroutine working through its share of a round: it reserves
every job with the store (check and reserve are one step in the actor, so
flows cannot overspend together) and adds the granted tasks; then every flow
plays its agents' jobs on the simulated clock with ``asyncio.sleep`` and
queues every report on one `AsyncStateBatcher`, which flushes into the store
in the background. The
live progress display is driven by `AsyncStateStore.watch_job` and
`watch_budget`: it redraws when the store changes, and asks nothing while it
does not. No ``ray.get`` is made; the report's Ray operations are the remote
calls the async handle awaited (concurrent calls travel together).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from shell.aio import AsyncStateBatcher, AsyncStateStore
from shell.demo.config import AgentSpec, DemoConfig
from shell.demo.plan import PlannedTask, RoundPlan, plan_first_round
from shell.demo.progress import LiveProgress
from shell.demo.records import (
    FLUSH_SIZE,
    FinalStates,
    OpTally,
    RoundRecord,
    RunOptions,
    RunResult,
    finish_run,
    plan_second_round,
    schedule,
    sort_reservation,
    split_round,
)

__all__ = ["run_async"]


class _AsyncDriver:
    """One run in one event loop: flows write, watchers redraw the progress."""

    def __init__(
        self,
        config: DemoConfig,
        options: RunOptions,
        progress: LiveProgress,
        store: AsyncStateStore,
        job_id: str,
    ) -> None:
        self.config = config
        self.options = options
        self.progress = progress
        self.store = store
        self.job_id = job_id
        self.tally = OpTally()
        self.batcher = AsyncStateBatcher(
            backend=store, job_id=job_id, max_items=FLUSH_SIZE, max_delay=options.flush_interval
        )
        self.budget: dict[str, Any] = {}

    async def watch_budget(self) -> None:
        """Keep the latest budget summary for the display (runs until cancelled)."""
        async for summary in self.store.watch_budget():
            self.budget = summary

    async def watch_job(self, label: str) -> None:
        """Redraw on every change of the job; return once it is complete."""
        async for summary in self.store.watch_job(self.job_id):
            if self.budget:
                self.progress.show(label, summary, self.budget, len(self.batcher))

    async def reserve(
        self, share: list[tuple[PlannedTask, AgentSpec]], record: RoundRecord
    ) -> list[tuple[PlannedTask, AgentSpec, Any]]:
        """Reserve one share of a round and add the granted tasks; return what was granted."""
        granted = []
        for task, agent in share:
            decision = await self.store.reserve(
                agent.name, agent.budget_config(), reservation_id=task.task_id
            )
            if sort_reservation(decision, task, self.tally, record.refused):
                granted.append((task, agent, decision.expected_cost))
        if granted:
            description = self.config.description
            await self.store.add_tasks(self.job_id, [t.spec(description) for t, _, _ in granted])
            self.tally.tasks_added += len(granted)
            record.granted.extend((task, expected) for task, _, expected in granted)
        return granted

    async def play(
        self, granted: list[tuple[PlannedTask, AgentSpec, Any]], record: RoundRecord
    ) -> None:
        """Play the granted jobs on the simulated clock, queuing every report on the batcher."""
        for task, _, _ in granted:
            await self.batcher.add_task_update(task.task_id, "running")
            self.tally.status_updates += 1
        start = time.monotonic()
        for outcome, expected in schedule(self.options.seed, granted):
            delay = start + outcome.duration * self.options.speed - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            record.outcomes.append(outcome)
            await self.batcher.add_task_update(
                outcome.task_id, outcome.status, result=outcome.result, error=outcome.error
            )
            await self.batcher.add_cost_record(
                outcome.agent_name, expected, outcome.cost, outcome.task_id
            )
            self.tally.reported()

    async def run_round(self, plan: RoundPlan) -> RoundRecord:
        """Split the plan over the flows: all reserve, then all play while a watcher redraws."""
        label = f"round {plan.round} ({self.options.writers} flows)"
        record = RoundRecord(plan)
        shares = split_round(self.config, plan, self.options.writers)
        grants = await asyncio.gather(*(self.reserve(share, record) for share in shares))
        # Watch once the round's tasks are in: the job is incomplete until the last report
        # is flushed, and that completion ends the watcher.
        watcher = asyncio.ensure_future(self.watch_job(label))
        try:
            await asyncio.gather(*(self.play(granted, record) for granted in grants))
            await self.batcher.flush()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(watcher), 5.0)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        return record


async def _run(config: DemoConfig, options: RunOptions, progress: LiveProgress) -> RunResult:
    started = time.monotonic()
    async with await AsyncStateStore.create(
        config.budget_config(), config.agents_config()
    ) as store:
        job_id = await store.create_job(config.description)
        driver = _AsyncDriver(config, options, progress, store, job_id)
        budget_watcher = asyncio.ensure_future(driver.watch_budget())
        try:
            first = await driver.run_round(plan_first_round(config, options.tasks))
            second = await driver.run_round(
                plan_second_round(options, await store.budget_state(), first, driver.tally)
            )
            await driver.batcher.close()
            # read_final_states's reads, sent together.
            final = FinalStates(
                *await asyncio.gather(
                    store.job_summary(job_id),
                    store.budget_state(),
                    store.budget_summary(),
                    store.job_state(job_id),
                )
            )
        finally:
            budget_watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await budget_watcher
        calls = store.remote_calls
    return finish_run(
        "async",
        config,
        options,
        [first, second],
        final,
        driver.tally,
        ops={"get": calls, "put": 0, "total": calls},
        flushes=driver.batcher.flushes,
        polls=progress.updates,
        started=started,
    )


def run_async(config: DemoConfig, options: RunOptions, progress: LiveProgress) -> RunResult:
    """Play two rounds with ``options.writers`` flows in one event loop against an async store.

    Args:
        config: The agents file.
        options: The run's options (``writers`` is the number of flows).
        progress: Where live progress goes (driven by watchers).

    Returns:
        The `RunResult`; ``ops`` counts the remote calls the async store awaited.

    Raises:
        StateError: the store or the core refused something.
    """
    return asyncio.run(_run(config, options, progress))
