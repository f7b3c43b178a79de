"""`AsyncStateBatcher`: collect updates in an event loop and flush them in the background.

The twin of `shell.batcher.StateBatcher`, with the same queue (the core's
`core.batching.PendingBatch`, items validated and stamped when added) and the
same vocabulary (``backend``, ``job_id``, ``max_items``, ``max_delay``,
`flush`, `flush_if_due`, `close`). A flush takes the queued items of one kind
out of the queue (they are in flight), awaits the backend, and if that fails
*or is cancelled* puts them back in front, in order: so a flush never loses an
item, `clear` never returns one a flush delivered, and the backend applies a
batch all or nothing, so nothing is half applied.

Unlike the sync batcher, which flushes only in its caller's thread, this one
has a background task on the loop: it flushes when ``max_items`` are queued,
when the oldest item is ``max_delay`` seconds old, or when adders wait for
room; ``add_*`` waits while ``max_pending`` items are queued (backpressure);
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

from core.batching import PendingBatch, add_cost_record, add_task_update, empty_batch
from core.errors import StateError
from shell._flush_policy import (
    DROP,
    REQUEUE,
    check_flush,
    check_policy,
    check_target,
    closed_error,
    cost_record,
    is_due,
    stamp,
)
from shell._store_sending import new_command_id
from shell.aio._flushing import with_id, without_id
from shell.aio.managers import AsyncBudgetManager, AsyncStateManager
from shell.errors import StateUnavailable
from shell.inputs import check_count

__all__ = ["AsyncStateBatcher"]

# Longest pause between two background attempts after failures.
_MAX_BACKOFF = 1.0
_TASKS, _COSTS = "task_updates", "cost_records"


class AsyncStateBatcher:
    """Collector of task updates and cost records for one event loop, flushed in batches.

    Args:
        clock: Wall-clock epoch seconds stamped on items added without ``at``.
        backend: Where `flush`, the background policy and `close` send items:
            an `shell.aio.AsyncStateStore` (anything with coroutines
            ``update_tasks`` and ``record_costs``); None leaves only the
            explicit ``flush_*`` methods.
        job_id: The job task updates belong to, for ``backend``.
        max_items: Flush once this many items (both kinds) are queued; None: no limit.
        max_delay: Flush once the oldest queued item has waited this many seconds; None: no limit.
        max_pending: ``add_*`` waits while this many items are queued.
        timer: Monotonic seconds for ``max_delay``.

    Raises:
        InvalidArgumentError: an argument has the wrong type or value, or a
            policy is given without a backend.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        *,
        backend: Any = None,
        job_id: str | None = None,
        max_items: int | None = None,
        max_delay: float | None = None,
        max_pending: int = 10_000,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._policy = check_policy(clock, timer, backend, job_id, max_items, max_delay)
        pending = check_count(max_pending, "max_pending")
        assert pending is not None  # none_ok is False
        self._max_pending = pending
        self._batch = empty_batch()
        self._in_flight = 0
        self._oldest: float | None = None  # timer reading when the oldest queued item came
        self._changed: asyncio.Condition | None = None
        self._locks: dict[str, asyncio.Lock] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False
        self._flushes = 0
        # Per kind: (command id, items) of the last flush whose fate is unknown.
        self._unsure: dict[str, tuple[str, list[Any]]] = {}
        #: The error of the last background flush that failed (None after one succeeds).
        self.last_error: BaseException | None = None

    @property
    def max_items(self) -> int | None:
        """The policy's ``max_items`` (None: no limit)."""
        return self._policy.max_items

    @property
    def max_delay(self) -> float | None:
        """The policy's ``max_delay`` in seconds (None: no limit)."""
        return self._policy.max_delay

    @property
    def max_pending(self) -> int:
        """How many queued or in-flight items make ``add_*`` wait."""
        return self._max_pending

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
            InvalidArgumentError: the batcher is closed.
            StateError: the store refuses the background flush while the queue
                is full (waiting would never end); nothing is queued.
        """
        await self._add(add_task_update, task_id, status, result, error, stamp(self._policy, at))

    async def add_cost_record(
        self, agent_name: str, expected: Any, actual: Any, job_id: str, at: float | None = None
    ) -> None:
        """Queue a cost record (validated and made exact now), waiting while the queue is full.

        Raises:
            BudgetError: a field has the wrong type or value; nothing is queued.
            InvalidArgumentError, StateError: as `add_task_update`.
        """
        record = cost_record(self._policy, agent_name, expected, actual, job_id, at)
        await self._add(add_cost_record, record)

    async def _add(self, add: Callable[..., PendingBatch], *item: Any) -> None:
        """Queue one item with ``add(batch, *item)``, waiting for room first when the queue is full.

        The item is validated before any wait, so a bad one never waits.
        """
        if self._closed:
            raise closed_error(self)
        changed = self._condition()
        async with changed:
            if self._size() >= self.max_pending:
                add(empty_batch(), *item)  # validate now; raises for a bad item
                self._start()
                await changed.wait_for(lambda: self._size() < self.max_pending or self._refused())
                if self._size() >= self.max_pending and self.last_error is not None:
                    raise self.last_error
            self._batch = add(self._batch, *item)
            if self._oldest is None:
                self._oldest = self._policy.timer()
            changed.notify_all()
        self._start()

    def _size(self) -> int:
        """Items queued or in flight: what backpressure bounds."""
        return len(self) + self._in_flight

    def _refused(self) -> bool:
        """True when the last background flush was refused, not merely unable to reach Ray."""
        return self.last_error is not None and not isinstance(self.last_error, StateUnavailable)

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    # ------------------------------------------------------------ policy

    def _start(self) -> None:
        """Start the background flusher if there is a policy and it is not running."""
        policy = self.max_items is not None or self.max_delay is not None
        if (
            self._policy.backend is not None
            and (policy or self._size() >= self.max_pending)
            and not self._closed
            and (self._flusher is None or self._flusher.done())
        ):
            self._flusher = asyncio.get_running_loop().create_task(self._run())

    def _due(self) -> bool:
        """The sync batcher's rule, or adders waiting for room."""
        size = len(self)
        return bool(size) and (
            size + self._in_flight >= self.max_pending or is_due(self._policy, size, self._oldest)
        )

    async def flush_if_due(self) -> bool:
        """Flush into the backend when the policy is due; True when it flushed.

        The background task calls it; a caller may too. O(1) when nothing is due.

        Raises:
            StateError: the flush failed; every item stays queued.
        """
        if self._policy.backend is None or not self._due():
            return False
        await self.flush()
        return True

    async def _run(self) -> None:
        """Background flusher: wait until due, flush; after a failure back off and retry."""
        changed = self._condition()
        backoff = self.max_delay or 0.05
        while not self._closed:
            async with changed:
                while not self._due() and not self._closed:
                    timeout = None  # nothing queued: wait for an add
                    if len(self) and self._oldest is not None and self.max_delay is not None:
                        timeout = max(0.0, self._oldest + self.max_delay - self._policy.timer())
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(changed.wait(), timeout)
            if self._closed:
                return
            try:
                await self.flush_if_due()
            except StateError as err:
                self.last_error = err
                async with changed:
                    changed.notify_all()  # a full queue's waiters may now give up
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
            else:
                self.last_error = None
                backoff = self.max_delay or 0.05

    # ------------------------------------------------------------ flushing

    async def flush(self) -> None:
        """Send everything queued, of both kinds, into the backend (one call per kind).

        Raises:
            InvalidArgumentError: no backend, or task updates queued and no ``job_id``.
            StateError: the backend refused a batch; it stays queued.
        """
        job_id = check_flush(self._policy, self._batch)
        has_any = job_id is not None or bool(self._batch.cost_records)
        if job_id is not None:
            await self.flush_task_updates(self._policy.backend, job_id)
        await self.flush_budget_updates(self._policy.backend)
        if has_any:
            self._flushes += 1

    @property
    def flushes(self) -> int:
        """How many `flush` calls (the policy's, `close`'s or the caller's) sent anything."""
        return self._flushes

    async def flush_task_updates(self, target: Any, job_id: str | None = None) -> Any:
        """Apply every queued task update in one batch; as `StateBatcher.flush_task_updates`.

        Args:
            target: The job's ObjectRef, or an async store.
            job_id: The job, required with a store (and refused with a ref).

        Returns:
            The new ref, or the store's version; ``target`` or None when nothing is queued.

        Raises:
            InvalidArgumentError: ``target`` is neither; a store without ``job_id``.
            StateError: the batch was refused; every update stays queued, none applied.
        """
        send: Callable[..., Any]
        if check_target(target, "update_tasks", job_id, with_job=True):
            send, nothing = with_id(partial(target.update_tasks, job_id)), None
        else:
            send, nothing = (
                without_id(partial(AsyncStateManager.batch_update_tasks, target)),
                target,
            )
        return await self._flush(_TASKS, send, nothing)

    async def flush_budget_updates(self, target: Any) -> Any:
        """Apply every queued cost record in one batch; as `StateBatcher.flush_budget_updates`.

        Raises:
            InvalidArgumentError: ``target`` is neither a ref nor an async store.
            BudgetError: the batch was refused; every record stays queued, none applied.
        """
        send: Callable[..., Any]
        if check_target(target, "record_costs"):
            send, nothing = with_id(target.record_costs), None
        else:
            send, nothing = (
                without_id(partial(AsyncBudgetManager.batch_record_costs, target)),
                target,
            )
        return await self._flush(_COSTS, send, nothing)

    async def _flush(self, kind: str, send: Callable[..., Any], nothing: Any) -> Any:
        """Take one kind's items out, send them; if that fails or is cancelled, put them back.

        A batch whose fate is unknown (a timeout, a cancellation after it may
        have left) is remembered with its command id: while it is still at the
        front of the queue, the next flush resends exactly it, with that id, so
        the store applies it at most once.
        """
        lock = self._locks.setdefault(kind, asyncio.Lock())
        async with lock:  # flushes of one kind go one at a time, so items keep their order
            result = nothing
            more = True
            while more:
                result, more = await self._send_front(kind, send, result)
            return result

    async def _send_front(
        self, kind: str, send: Callable[..., Any], nothing: Any
    ) -> tuple[Any, bool]:
        """Send the front of one kind's queue; return the reply and whether items remain."""
        oldest = self._oldest
        items = list(getattr(self._batch, kind))
        if not items:
            return nothing, False
        command_id, unsure = self._unsure.pop(kind, (None, []))
        resend = bool(unsure) and len(unsure) <= len(items)
        # Identity, not equality: the core's requeue gives back the very items it took.
        resend = resend and all(a is b for a, b in zip(unsure, items, strict=False))
        if resend:
            items = unsure
        self._batch = DROP[kind](self._batch, len(items))
        if not len(self):
            self._oldest = None  # nothing is queued: the delay clock stops
        command_id = command_id if resend and command_id else new_command_id()
        self._in_flight += len(items)
        try:
            result = await send(items, command_id)
        except BaseException:
            self._batch = REQUEUE[kind](self._batch, items)
            self._unsure[kind] = (command_id, items)
            if oldest is not None and (self._oldest is None or oldest < self._oldest):
                self._oldest = oldest  # the requeued items are the oldest again
            raise
        finally:
            self._in_flight -= len(items)
            await self._after_flush()
        return result, resend and bool(getattr(self._batch, kind))

    async def _after_flush(self) -> None:
        changed = self._condition()
        async with changed:
            if not len(self):
                self._oldest = None
            changed.notify_all()

    # ------------------------------------------------------------ state

    def pending(self) -> PendingBatch:
        """Return an immutable snapshot of what is queued (not what is in flight)."""
        return self._batch

    def clear(self) -> PendingBatch:
        """Drop everything queued and return it; items in flight are not queued, so not returned."""
        dropped, self._batch = self._batch, empty_batch()
        self._oldest = None
        self._unsure.clear()
        return dropped

    def __len__(self) -> int:
        """Number of queued items of both kinds."""
        return len(self._batch.task_updates) + len(self._batch.cost_records)

    async def close(self) -> None:
        """Stop the background flusher, flush what is queued into the backend, refuse later adds.

        A flush in flight is let finish, not cancelled. Calling it again is
        harmless; if the final flush fails, the batcher stays open with
        everything queued and the error is raised.

        Raises:
            StateError: the final flush was refused.
        """
        if self._closed:
            return
        self._closed = True
        if self._flusher is not None:
            changed = self._condition()
            async with changed:
                changed.notify_all()
            await asyncio.gather(self._flusher, return_exceptions=True)
            self._flusher = None
        if self._policy.backend is not None:
            try:
                await self.flush()
            except BaseException:
                self._closed = False
                raise

    async def __aenter__(self) -> AsyncStateBatcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
