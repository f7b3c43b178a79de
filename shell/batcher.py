"""`StateBatcher`: collect updates as they happen, apply them later in one Ray round trip.

A thin thread-safe wrapper around the core's `core.batching.PendingBatch`:
one lock guards the current batch; a flush snapshots it, applies the
snapshot with one read and one write, and on success drops exactly the
flushed prefix, so updates added meanwhile stay pending. A flush that fails
drops nothing and re-raises.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial
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
from core.errors import describe
from shell.errors import InvalidArgumentError
from shell.managers import BudgetManager, StateManager

__all__ = ["StateBatcher"]


def _is_store(target: Any) -> bool:
    """True for a store handle (anything with ``update_tasks``/``record_costs``), not a ref."""
    return not isinstance(target, ray.ObjectRef) and (
        hasattr(target, "update_tasks") or hasattr(target, "record_costs")
    )


def _check_target(target: Any, method: str) -> None:
    if isinstance(target, ray.ObjectRef) or hasattr(target, method):
        return
    raise InvalidArgumentError(
        f"target must be a ray.ObjectRef or a store with {method}(), "
        f"got {type(target).__name__}: {describe(target)}",
        field="target",
        value=target,
    )


class StateBatcher:
    """Thread-safe collector of task updates and cost records, flushed in batches.

    Args:
        clock: Wall-clock epoch seconds stamped on items added without ``at``.

    Raises:
        InvalidArgumentError: ``clock`` is not callable.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        if not callable(clock):
            raise InvalidArgumentError(
                f"clock must be callable, got {describe(clock)}", field="clock", value=clock
            )
        self._clock = clock
        self._lock = threading.Lock()
        # Flushes of one kind run one at a time, or two could apply the same prefix.
        self._task_flush = threading.Lock()
        self._cost_flush = threading.Lock()
        self._batch = empty_batch()
        # Bumped by clear(): a flush in flight must not then drop items added after it.
        self._generation = 0

    def add_task_update(
        self,
        task_id: str,
        status: str,
        result: Any = None,
        error: str | None = None,
        at: float | None = None,
    ) -> None:
        """Queue a task update, validated now and stamped with the clock when ``at`` is None.

        Raises:
            InvalidUpdateError: a field has the wrong type or value; nothing is queued.
        """
        stamp = self._clock() if at is None else at
        with self._lock:
            self._batch = add_task_update(self._batch, task_id, status, result, error, stamp)

    def add_cost_record(
        self,
        agent_name: str,
        expected: Any,
        actual: Any,
        job_id: str,
        at: float | None = None,
    ) -> None:
        """Queue a cost record, validated and made exact now, stamped when ``at`` is None.

        Raises:
            BudgetError: a field has the wrong type or value; nothing is queued.
        """
        record = {
            "agent_name": agent_name,
            "expected": expected,
            "actual": actual,
            "job_id": job_id,
            "at": self._clock() if at is None else at,
        }
        with self._lock:
            self._batch = add_cost_record(self._batch, record)

    def flush_task_updates(self, target: Any, job_id: str | None = None) -> Any:
        """Apply every queued task update, in the order added, in one Ray round trip.

        Args:
            target: The job's ObjectRef, or a store handle (with ``update_tasks``).
            job_id: The job, required with a store.

        Returns:
            For a ref, the new ref (``target`` itself, with no Ray call, when
            nothing is queued). For a store, what ``update_tasks`` returns (its
            version), or None when nothing is queued.

        Raises:
            InvalidArgumentError: ``target`` is neither, or a store without ``job_id``.
            StateError: the core or the store refused the batch; every update
                stays queued and nothing was applied.
        """
        store = _is_store(target) or job_id is not None
        _check_target(target, "update_tasks")
        if store and job_id is None:
            raise InvalidArgumentError(
                "job_id is required to flush into a store", field="job_id", value=None
            )
        send = (
            partial(target.update_tasks, job_id)
            if store
            else partial(StateManager.batch_update_tasks, target)
        )
        return self._flush(
            self._task_flush, "task_updates", send, drop_task_updates, None if store else target
        )

    def flush_budget_updates(self, target: Any) -> Any:
        """Apply every queued cost record, in the order added, in one Ray round trip.

        Args:
            target: The budget's ObjectRef, or a store handle (with ``record_costs``).

        Returns:
            For a ref, the new ref (``target`` itself, with no Ray call, when
            nothing is queued). For a store, what ``record_costs`` returns, or
            None when nothing is queued.

        Raises:
            InvalidArgumentError: ``target`` is neither.
            BudgetError: the core or the store refused the batch; every record
                stays queued and nothing was applied.
        """
        _check_target(target, "record_costs")
        store = _is_store(target)
        send = target.record_costs if store else partial(BudgetManager.batch_record_costs, target)
        return self._flush(
            self._cost_flush, "cost_records", send, drop_cost_records, None if store else target
        )

    def _flush(
        self,
        flush_lock: threading.Lock,
        kind: str,
        send: Callable[[list[Any]], Any],
        drop: Callable[[PendingBatch, int], PendingBatch],
        nothing_queued: Any,
    ) -> Any:
        """Send a snapshot of the queued items of one kind; on success drop exactly those.

        Returns:
            What ``send`` returned, or ``nothing_queued`` (and no call) when none is queued.
        """
        with flush_lock:
            with self._lock:
                items = list(getattr(self._batch, kind))
                generation = self._generation
            if not items:
                return nothing_queued
            result = send(items)
            with self._lock:
                if generation == self._generation:
                    self._batch = drop(self._batch, len(items))
            return result

    def pending(self) -> PendingBatch:
        """Return an immutable snapshot of what is queued (``task_updates``, ``cost_records``)."""
        with self._lock:
            return self._batch

    def clear(self) -> PendingBatch:
        """Drop everything queued and return what was dropped."""
        with self._lock:
            dropped, self._batch = self._batch, empty_batch()
            self._generation += 1
            return dropped

    def __len__(self) -> int:
        """Number of queued items of both kinds."""
        with self._lock:
            return len(self._batch.task_updates) + len(self._batch.cost_records)
