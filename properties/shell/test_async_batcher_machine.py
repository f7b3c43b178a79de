"""AsyncStateBatcher against a trivial model: nothing lost, nothing applied twice or by halves.

The store is a fake with coroutines that can fail, or hang until cancelled,
so every path of a flush is driven without Ray; one event loop runs the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from shell.aio.batcher import AsyncStateBatcher
from shell.errors import OutcomeUnknown, StateUnavailable


class FakeStore:
    """Applies whole batches, or fails, or hangs until cancelled, as the machine says."""

    def __init__(self) -> None:
        self.applied: list[tuple[str, str]] = []  # (task_id, status) in applied order
        self.costs: list[str] = []
        self.mode = "ok"
        self.seen: set[str] = set()
        self.entered = asyncio.Event()
        self.release: asyncio.Future[bool] | None = None

    async def _gate(self) -> None:
        if self.mode == "fail":
            raise StateUnavailable("store down", field="store", value="fake")
        if self.mode == "hang":
            await asyncio.sleep(3600)
        if self.mode == "gate":
            self.release = asyncio.get_running_loop().create_future()
            self.entered.set()
            if not await self.release:
                raise StateUnavailable("store down", field="store", value="fake")

    async def update_tasks(self, job_id: str, items: list[Any], command_id: str) -> int:
        await self._gate()
        if command_id not in self.seen:  # as the store: an id is applied at most once
            self.seen.add(command_id)
            self.applied.extend((u.task_id, u.status.value) for u in items)
        self._lose_reply()
        return len(self.applied)

    async def record_costs(self, items: list[Any], command_id: str) -> None:
        await self._gate()
        if command_id not in self.seen:
            self.seen.add(command_id)
            self.costs.extend(r["job_id"] for r in items)
        self._lose_reply()

    def _lose_reply(self) -> None:
        if self.mode == "lost":
            raise OutcomeUnknown("applied, but the reply was lost", command_id="?")


class BatcherMachine(RuleBasedStateMachine):
    """Model: the list of items added and not cleared, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.store = FakeStore()
        self.clock = 0.0
        self.batcher = AsyncStateBatcher(lambda: self.clock, backend=self.store, job_id="J")
        self.updates: list[tuple[str, str]] = []
        self.costs: list[str] = []
        self.counter = 0

    def teardown(self) -> None:
        self.store.mode = "ok"
        self.run(self.batcher.close())
        assert not self.batcher.pending().task_updates
        self.loop.close()

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    @rule(status=st.sampled_from(["running", "completed", "failed"]))
    def add_update(self, status: str) -> None:
        """Queue one task update."""
        self.counter += 1
        self.run(self.batcher.add_task_update(f"t{self.counter}", status))
        self.updates.append((f"t{self.counter}", status))

    @rule()
    def add_cost(self) -> None:
        """Queue one cost record."""
        self.counter += 1
        self.run(self.batcher.add_cost_record("a", 1, 1, f"j{self.counter}"))
        self.costs.append(f"j{self.counter}")

    @rule()
    def flush_ok(self) -> None:
        """A flush that succeeds applies everything queued, in order."""
        self.store.mode = "ok"
        self.run(self.batcher.flush())

    @rule()
    def flush_failing(self) -> None:
        """A flush that fails keeps every item queued."""
        self.store.mode = "fail"
        with contextlib.suppress(StateUnavailable):
            self.run(self.batcher.flush())

    @rule()
    def lost_reply_then_resend(self) -> None:
        """A flush applied but unanswered is resent with its id: applied once, nothing lost."""
        self.store.mode = "lost"
        with contextlib.suppress(OutcomeUnknown):
            self.run(self.batcher.flush())
        self.store.mode = "ok"
        self.run(self.batcher.flush())
        assert len(set(self.store.applied)) == len(self.store.applied)

    @rule()
    def flush_cancelled(self) -> None:
        """A flush cancelled mid-call keeps every item queued."""
        self.store.mode = "hang"

        async def cancel_it() -> None:
            task = asyncio.ensure_future(self.batcher.flush())
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        self.run(cancel_it())

    @rule(succeed=st.booleans(), more=st.integers(0, 2))
    def clear_during_flush(self, succeed: bool, more: int) -> None:
        """clear() during a flush returns only what is queued, never an item in flight."""
        self.store.mode = "gate"
        self.store.entered = asyncio.Event()

        async def race() -> None:
            flushing = asyncio.ensure_future(self.batcher.flush())
            entered = asyncio.ensure_future(self.store.entered.wait())
            await asyncio.wait([flushing, entered], return_when=asyncio.FIRST_COMPLETED)
            for _ in range(more):
                self.counter += 1
                await self.batcher.add_task_update(f"t{self.counter}", "running")
                self.updates.append((f"t{self.counter}", "running"))
            self.clear()
            if self.store.release is not None and not self.store.release.done():
                self.store.release.set_result(succeed)
            with contextlib.suppress(StateUnavailable):
                await flushing
            entered.cancel()

        self.run(race())
        self.store.mode = "ok"
        self.store.release = None

    @rule()
    def clear(self) -> None:
        """clear() returns exactly what was queued and not applied."""
        dropped = self.batcher.clear()
        dropped_updates = [(u.task_id, u.status.value) for u in dropped.task_updates]
        dropped_costs = [r["job_id"] for r in dropped.cost_records]
        assert not set(dropped_updates) & set(self.store.applied)
        assert not set(dropped_costs) & set(self.store.costs)
        self.updates = [u for u in self.updates if u not in dropped_updates]
        self.costs = [c for c in self.costs if c not in dropped_costs]

    @invariant()
    def applied_is_a_prefix_and_the_rest_is_queued(self) -> None:
        """Applied + queued == added (not cleared), in order: nothing lost, doubled or halved."""
        pending = self.batcher.pending()
        queued = [(u.task_id, u.status.value) for u in pending.task_updates]
        assert self.store.applied + queued == self.updates
        assert self.store.costs + [r["job_id"] for r in pending.cost_records] == self.costs


BatcherMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
TestAsyncBatcherMachine = BatcherMachine.TestCase
