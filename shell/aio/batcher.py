"""`AsyncStateBatcher`: collect updates in an event loop and flush them in the background.

The queue is the core's `core.batching.PendingBatch`, as in
`shell.batcher.StateBatcher`: items are validated and stamped when added, a
flush sends a snapshot of one kind as one batch and, only once the store has
applied it, drops exactly that prefix. A flush that fails or is cancelled
therefore keeps its items pending, and the store applies a batch all or
nothing, so nothing is ever half applied.

Given a store (and a job id for task updates), the batcher flushes by itself
when ``max_items`` are queued or the oldest item is ``max_delay`` seconds old;
``add_*`` waits while ``max_pending`` items are queued (backpressure), and
leaving ``async with`` flushes what is pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from functools import partial
from types import TracebackType
from typing import Any

import ray

from core.batching import (
    PendingBatch,
    add_cost_record,
    add_task_update,
    drop_cost_records,
    drop_task_updates,
    empty_batch,
)
from core.errors import StateError
from shell.aio.managers import AsyncBudgetManager, AsyncStateManager
from shell.errors import InvalidArgumentError, StateUnavailable
from shell.inputs import check_seconds

__all__ = ["AsyncStateBatcher"]

# Longest pause between two background attempts after failures.
_MAX_BACKOFF = 1.0


def _count(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgumentError(
            f"{field} must be an int >= 1, got {value!r}", field=field, value=value
        )
    return value


class AsyncStateBatcher:
    """Collector of task updates and cost records for one event loop, flushed in batches.

    Args:
        store: Where background flushes go: an `shell.aio.AsyncStateStore` (or
            anything with coroutines ``update_tasks`` and ``record_costs``);
            None to flush only explicitly, into any target.
        job_id: The job the task updates belong to (needed to flush them into ``store``).
        max_items: Flush once this many items of one kind are queued.
        max_delay: Flush once the oldest queued item is this many seconds old.
        max_pending: ``add_*`` waits while this many items are queued.
        clock: Wall-clock epoch seconds stamped on items added without ``at``.

    Raises:
        InvalidArgumentError: an argument has the wrong type or value.
    """

    def __init__(
        self,
        store: Any = None,
        job_id: str | None = None,
        *,
        max_items: int = 100,
        max_delay: float = 0.05,
        max_pending: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if store is not None and not (
            hasattr(store, "update_tasks") and hasattr(store, "record_costs")
        ):
            raise InvalidArgumentError(
                f"store must have update_tasks and record_costs, got {store!r}",
                field="store",
                value=store,
            )
        if job_id is not None and (not isinstance(job_id, str) or not job_id):
            raise InvalidArgumentError(
                f"job_id must be a non-empty str or None, got {job_id!r}",
                field="job_id",
                value=job_id,
            )
        if not callable(clock):
            raise InvalidArgumentError(
                f"clock must be callable, got {clock!r}", field="clock", value=clock
            )
        self._store = store
        self._job_id = job_id
        self.max_items = _count(max_items, "max_items")
        self.max_pending = _count(max_pending, "max_pending")
        delay = check_seconds(max_delay, "max_delay")
        assert delay is not None  # none_ok is False
        self.max_delay = delay
        self._clock = clock
        self._batch = empty_batch()
        self._generation = 0  # bumped by clear(): a flush in flight then drops nothing
        self._oldest: float | None = None  # monotonic time the oldest queued item came
        self._changed: asyncio.Condition | None = None
        self._locks: dict[str, asyncio.Lock] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False
        #: The error of the last background flush that failed (None after one succeeds).
        self.last_error: BaseException | None = None

    # ------------------------------------------------------------ adding

    async def add_task_update(
        self,
        task_id: str,
        status: str,
        result: Any = None,
        error: str | None = None,
        at: float | None = None,
    ) -> None:
        """Queue a task update (validated and stamped now), waiting while the queue is full.

        Raises:
            InvalidUpdateError: a field has the wrong type or value; nothing is queued.
            StateError: the background flush is refused by the store while the
                queue is full (waiting would never end); nothing is queued.
        """
        stamp = self._clock() if at is None else at
        await self._add(
            partial(
                add_task_update,
                task_id=task_id,
                status=status,
                result=result,
                error=error,
                at=stamp,
            )
        )

    async def add_cost_record(
        self, agent_name: str, expected: Any, actual: Any, job_id: str, at: float | None = None
    ) -> None:
        """Queue a cost record (validated and made exact now), waiting while the queue is full.

        Raises:
            BudgetError: a field has the wrong type or value; nothing is queued.
            StateError: as `add_task_update`.
        """
        record = {
            "agent_name": agent_name,
            "expected": expected,
            "actual": actual,
            "job_id": job_id,
            "at": self._clock() if at is None else at,
        }
        await self._add(partial(add_cost_record, record=record))

    async def _add(self, add: Callable[[PendingBatch], PendingBatch]) -> None:
        """Queue one item, waiting for room first when the queue is full.

        The item is validated before any wait, so a bad one never waits.
        """
        changed = self._condition()
        async with changed:
            if len(self) >= self.max_pending:
                add(empty_batch())  # validate now; raises for a bad item
                await changed.wait_for(lambda: len(self) < self.max_pending or self._refused())
                if len(self) >= self.max_pending and self.last_error is not None:
                    raise self.last_error
            self._batch = add(self._batch)
            if self._oldest is None:
                self._oldest = time.monotonic()
            changed.notify_all()
        self._start()

    def _refused(self) -> bool:
        """True when the last background flush was refused, not merely unable to reach Ray."""
        return self.last_error is not None and not isinstance(self.last_error, StateUnavailable)

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    # ------------------------------------------------------------ flushing

    def _start(self) -> None:
        if (
            self._store is not None
            and not self._closed
            and (self._flusher is None or self._flusher.done())
        ):
            self._flusher = asyncio.get_running_loop().create_task(self._run())

    def _due(self) -> bool:
        batch = self._batch
        full = (
            max(len(batch.task_updates), len(batch.cost_records)) >= self.max_items
            or len(self) >= self.max_pending  # adders are waiting: make room now
        )
        old = self._oldest is not None and time.monotonic() - self._oldest >= self.max_delay
        return full or old

    async def _run(self) -> None:
        """Background flusher: flush when due; after a failure, back off and try again."""
        changed = self._condition()
        backoff = self.max_delay
        while not self._closed:
            async with changed:
                while not self._due() and not self._closed:
                    timeout = None
                    if self._oldest is not None:
                        timeout = max(0.0, self._oldest + self.max_delay - time.monotonic())
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(changed.wait(), timeout)
            try:
                await self.flush()
            except StateError as err:
                self.last_error = err
                async with changed:
                    changed.notify_all()  # a full queue's waiters may now give up
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
            else:
                self.last_error = None
                backoff = self.max_delay

    async def flush(self) -> None:
        """Flush both kinds into the batcher's store now.

        Raises:
            InvalidArgumentError: the batcher has no store, or task updates but no job id.
            StateError: the store refused a batch; it stays queued.
        """
        if self._store is None:
            raise InvalidArgumentError(
                "this AsyncStateBatcher has no store: call flush_task_updates(target)",
                field="store",
                value=None,
            )
        if self._batch.task_updates:
            await self.flush_task_updates(self._store, self._job_id)
        await self.flush_budget_updates(self._store)

    async def flush_task_updates(self, target: Any, job_id: str | None = None) -> Any:
        """Apply every queued task update in one batch; as `StateBatcher.flush_task_updates`.

        Args:
            target: The job's ObjectRef, or an async store.
            job_id: The job, required with a store.

        Returns:
            The new ref, or the store's version; ``target`` or None when nothing is queued.

        Raises:
            InvalidArgumentError: ``target`` is neither, or a store without ``job_id``.
            StateError: the batch was refused; every update stays queued, none applied.
        """
        if isinstance(target, ray.ObjectRef):
            send: Callable[[list[Any]], Any] = partial(AsyncStateManager.batch_update_tasks, target)
            nothing: Any = target
        else:
            _check_store(target, "update_tasks")
            if job_id is None:
                raise InvalidArgumentError(
                    "job_id is required to flush into a store", field="job_id", value=None
                )
            send = partial(target.update_tasks, job_id)
            nothing = None
        return await self._flush("task_updates", send, drop_task_updates, nothing)

    async def flush_budget_updates(self, target: Any) -> Any:
        """Apply every queued cost record in one batch; as `StateBatcher.flush_budget_updates`.

        Raises:
            InvalidArgumentError: ``target`` is neither a ref nor an async store.
            BudgetError: the batch was refused; every record stays queued, none applied.
        """
        if isinstance(target, ray.ObjectRef):
            send: Callable[[list[Any]], Any] = partial(
                AsyncBudgetManager.batch_record_costs, target
            )
            nothing: Any = target
        else:
            _check_store(target, "record_costs")
            send = target.record_costs
            nothing = None
        return await self._flush("cost_records", send, drop_cost_records, nothing)

    async def _flush(
        self,
        kind: str,
        send: Callable[[list[Any]], Any],
        drop: Callable[[PendingBatch, int], PendingBatch],
        nothing_queued: Any,
    ) -> Any:
        """Send a snapshot of one kind; only once it was applied, drop exactly those items."""
        lock = self._locks.setdefault(kind, asyncio.Lock())
        async with lock:
            items = list(getattr(self._batch, kind))
            generation = self._generation
            if not items:
                return nothing_queued
            result = await send(items)  # cancelled or failed: nothing is dropped
            changed = self._condition()
            async with changed:
                if generation == self._generation:
                    self._batch = drop(self._batch, len(items))
                if not len(self):
                    self._oldest = None
                elif self._oldest is not None:
                    self._oldest = time.monotonic()
                changed.notify_all()
            return result

    # ------------------------------------------------------------ state

    def pending(self) -> PendingBatch:
        """Return an immutable snapshot of what is queued."""
        return self._batch

    def clear(self) -> PendingBatch:
        """Drop everything queued and return it; a flush in flight then drops nothing."""
        dropped, self._batch = self._batch, empty_batch()
        self._generation += 1
        self._oldest = None
        return dropped

    def __len__(self) -> int:
        """Number of queued items of both kinds."""
        return len(self._batch.task_updates) + len(self._batch.cost_records)

    async def close(self) -> None:
        """Stop the background flusher and flush what is pending (if there is a store).

        Raises:
            StateError: the final flush was refused; the items stay queued.
        """
        self._closed = True
        if self._flusher is not None:
            # Let a flush in flight finish rather than cancel it: cancelled after
            # sending, it would be applied yet stay queued, and be sent again.
            async with self._condition():
                self._condition().notify_all()
            await asyncio.gather(self._flusher, return_exceptions=True)
            self._flusher = None
        if self._store is not None:
            await self.flush()

    async def __aenter__(self) -> AsyncStateBatcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


def _check_store(target: Any, method: str) -> None:
    if not hasattr(target, method):
        raise InvalidArgumentError(
            f"target must be a ray.ObjectRef or an async store with {method}(), "
            f"got {type(target).__name__}: {target!r}",
            field="target",
            value=target,
        )
