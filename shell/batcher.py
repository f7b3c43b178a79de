"""`StateBatcher`: collect updates as they happen, apply them later in one round trip.

A thin thread-safe wrapper around the core's `core.batching.PendingBatch`.
One lock guards the queue. A flush takes the queued items of one kind out
of the queue (they are then *in flight*, no longer queued), sends them, and
on failure puts them back in front, in order: so `clear` never returns an
item a flush delivers, and a failed flush loses nothing.

The flush policy (``max_items``, ``max_delay``, flush on `close` and on
leaving a ``with`` block) needs a bound backend (a `shell.refstore.RefStore`
or `shell.store.StateStore`, and a job id). It flushes when an item is added
and the policy is due, or when the driver calls `flush_if_due`, never from a
background thread. Why: a flush is a Ray call that can fail; in the caller's
thread its error reaches the code that can act on it, the order of flushes
is the order of calls, tests drive it with a fake timer and no sleeps, and
there is no thread to leak if the driver forgets `close`. The cost: with no
adds and no `flush_if_due`, an item can wait longer than ``max_delay``, so a
driver's poll loop calls `flush_if_due` (one lock and a clock read when
nothing is due).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial
from types import TracebackType
from typing import Any

from core.batching import PendingBatch, add_cost_record, add_task_update, empty_batch
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
from shell.managers import BudgetManager, StateManager

__all__ = ["StateBatcher"]


class StateBatcher:
    """Thread-safe collector of task updates and cost records, flushed in batches.

    Args:
        clock: Wall-clock epoch seconds stamped on items added without ``at``
            (the one clock that stamps what goes through this batcher).
        backend: Where `flush`, the policy and `close` send items: a
            `RefStore` or `StateStore` (anything with ``update_tasks`` and
            ``record_costs``); None leaves only the explicit ``flush_*`` methods.
        job_id: The job task updates belong to, for ``backend``.
        max_items: Flush once this many items (both kinds) are queued; None: no limit.
        max_delay: Flush once the oldest queued item has waited this many
            seconds (checked on add and by `flush_if_due`); None: no limit.
        timer: Monotonic seconds for ``max_delay``; tests inject a fake one.

    Raises:
        InvalidArgumentError: an argument has the wrong type or value, or a
            policy (``max_items``, ``max_delay``) is given without a backend.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        *,
        backend: Any = None,
        job_id: str | None = None,
        max_items: int | None = None,
        max_delay: float | None = None,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._policy = check_policy(clock, timer, backend, job_id, max_items, max_delay)
        self._lock = threading.Lock()
        # Flushes of one kind run one at a time, so they send items in order.
        self._task_flush = threading.Lock()
        self._cost_flush = threading.Lock()
        self._batch = empty_batch()
        # Timer reading no later than when the oldest queued item was added; None when empty.
        self._oldest: float | None = None
        self._closed = False
        self._flushes = 0

    # ------------------------------------------------------------ adding

    def add_task_update(
        self,
        task_id: str,
        status: str,
        result: Any = None,
        error: str | None = None,
        at: float | None = None,
    ) -> None:
        """Queue a task update, validated now and stamped with the clock when ``at`` is None.

        Then flushes if the policy is due (see `flush_if_due`).

        Raises:
            InvalidUpdateError: a field has the wrong type or value; nothing is queued.
            InvalidArgumentError: the batcher is closed; nothing is queued.
            StateError: the policy's flush failed; the update stays queued.
        """
        at = stamp(self._policy, at)
        with self._lock:
            self._check_open()
            self._batch = add_task_update(self._batch, task_id, status, result, error, at)
            self._queued()
        self.flush_if_due()

    def add_cost_record(
        self,
        agent_name: str,
        expected: Any,
        actual: Any,
        job_id: str,
        at: float | None = None,
    ) -> None:
        """Queue a cost record, validated and made exact now, stamped when ``at`` is None.

        Then flushes if the policy is due (see `flush_if_due`).

        Raises:
            BudgetError: a field has the wrong type or value; nothing is queued.
            InvalidArgumentError: the batcher is closed; nothing is queued.
            StateError: the policy's flush failed; the record stays queued.
        """
        record = cost_record(self._policy, agent_name, expected, actual, job_id, at)
        with self._lock:
            self._check_open()
            self._batch = add_cost_record(self._batch, record)
            self._queued()
        self.flush_if_due()

    # Each add calls these two directly: a shared ``_add(add, *item)`` would call the
    # core through ``add(batch, *item)``, which CPython does not inline: a slower add.
    def _check_open(self) -> None:
        if self._closed:
            raise closed_error(self)

    def _queued(self) -> None:
        """Note that an item was just queued (call with the lock held)."""
        if self._oldest is None and self._policy.max_delay is not None:
            self._oldest = self._policy.timer()

    # ------------------------------------------------------------ policy

    def flush_if_due(self) -> bool:
        """Flush into the backend when ``max_items`` or ``max_delay`` is reached.

        O(1) when nothing is due. A driver's poll loop calls it so that an item
        never waits much longer than ``max_delay`` when nothing else is added.

        Returns:
            True when it flushed.

        Raises:
            StateError: the flush failed; every item stays queued.
        """
        if self._policy.backend is None:
            return False
        with self._lock:
            size = len(self._batch.task_updates) + len(self._batch.cost_records)
            due = is_due(self._policy, size, self._oldest)
        if due:
            self.flush()
        return due

    def flush(self) -> None:
        """Send everything queued, of both kinds, into the bound backend (one call per kind).

        Raises:
            InvalidArgumentError: no backend is bound, or task updates are queued
                and no ``job_id`` was given.
            StateError: the backend refused a batch; it stays queued.
        """
        with self._lock:
            job_id = check_flush(self._policy, self._batch)
            has_any = job_id is not None or bool(self._batch.cost_records)
        if job_id is not None:
            self.flush_task_updates(self._policy.backend, job_id)
        self.flush_budget_updates(self._policy.backend)
        if has_any:
            with self._lock:
                self._flushes += 1

    @property
    def flushes(self) -> int:
        """How many `flush` calls (the policy's, `close`'s or the caller's) sent anything."""
        return self._flushes

    def close(self) -> None:
        """Flush what is queued into the backend (if any) and refuse later adds.

        Calling it again is harmless. If the flush fails, the batcher stays
        open with everything queued, and the error is raised.
        """
        if self._closed:
            return
        if self._policy.backend is not None:
            self.flush()
        with self._lock:
            self._closed = True

    def __enter__(self) -> StateBatcher:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Observations made before an error are still true: flush them too.
        self.close()

    # ------------------------------------------------------------ explicit flushes

    def flush_task_updates(self, target: Any, job_id: str | None = None) -> Any:
        """Apply every queued task update, in the order added, in one round trip.

        Args:
            target: The job's ObjectRef, or a backend (with ``update_tasks``).
            job_id: The job; required with a backend, refused with a ref.

        Returns:
            For a ref, the new ref (``target`` itself, with no Ray call, when
            nothing is queued). For a backend, what ``update_tasks`` returns
            (its version), or None when nothing is queued.

        Raises:
            InvalidArgumentError: ``target`` is neither, a backend without
                ``job_id``, or a ref with one; nothing is sent.
            StateError: the core or the store refused the batch; every update
                stays queued and nothing was applied.
        """
        store = check_target(target, "update_tasks", job_id, with_job=True)
        send = (
            partial(target.update_tasks, job_id)
            if store
            else partial(StateManager.batch_update_tasks, target)
        )
        return self._flush(
            self._task_flush,
            "task_updates",
            send,
            None if store else target,
        )

    def flush_budget_updates(self, target: Any) -> Any:
        """Apply every queued cost record, in the order added, in one round trip.

        Args:
            target: The budget's ObjectRef, or a backend (with ``record_costs``).

        Returns:
            For a ref, the new ref (``target`` itself, with no Ray call, when
            nothing is queued). For a backend, what ``record_costs`` returns, or
            None when nothing is queued.

        Raises:
            InvalidArgumentError: ``target`` is neither.
            BudgetError: the core or the store refused the batch; every record
                stays queued and nothing was applied.
        """
        store = check_target(target, "record_costs")
        send = target.record_costs if store else partial(BudgetManager.batch_record_costs, target)
        return self._flush(
            self._cost_flush,
            "cost_records",
            send,
            None if store else target,
        )

    def _flush(
        self,
        flush_lock: threading.Lock,
        kind: str,
        send: Callable[[list[Any]], Any],
        nothing_queued: Any,
    ) -> Any:
        """Take the queued items of one kind out of the queue and send them.

        While they are in flight `clear` cannot return them; if ``send``
        fails they go back in front of anything added meanwhile.

        Returns:
            What ``send`` returned, or ``nothing_queued`` (and no call) when none is queued.
        """
        with flush_lock:
            with self._lock:
                items = list(getattr(self._batch, kind))
                if not items:
                    return nothing_queued
                self._batch = DROP[kind](self._batch, len(items))
                oldest = self._oldest
                if not (self._batch.task_updates or self._batch.cost_records):
                    self._oldest = None
            try:
                return send(items)
            except BaseException:
                with self._lock:
                    self._batch = REQUEUE[kind](self._batch, items)
                    if oldest is not None:
                        self._oldest = oldest if self._oldest is None else min(oldest, self._oldest)
                raise

    # ------------------------------------------------------------ inspection

    def pending(self) -> PendingBatch:
        """Return an immutable snapshot of what is queued (items in flight are not)."""
        with self._lock:
            return self._batch

    def clear(self) -> PendingBatch:
        """Drop everything queued and return it; items a flush has in flight are not touched."""
        with self._lock:
            dropped, self._batch = self._batch, empty_batch()
            self._oldest = None
            return dropped

    def __len__(self) -> int:
        """Number of queued items of both kinds (items in flight are not counted)."""
        with self._lock:
            return len(self._batch.task_updates) + len(self._batch.cost_records)
