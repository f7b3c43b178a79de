"""What the sync and the async batcher share: their arguments' checks, stamping and flush rules.

`shell.batcher.StateBatcher` and `shell.aio.batcher.AsyncStateBatcher` differ
in how they wait (a lock or the event loop) and when they flush (in the
caller's thread or in a background task), not in what they accept, how an
item is stamped, when a flush is due, or where a flush may send: those rules
are here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import ray

from core.batching import (
    PendingBatch,
    drop_cost_records,
    drop_task_updates,
    requeue_cost_records,
    requeue_task_updates,
)
from core.errors import describe
from shell.errors import InvalidArgumentError
from shell.inputs import check_count, check_name, check_seconds

__all__ = [
    "DROP",
    "REQUEUE",
    "FlushPolicy",
    "check_flush",
    "check_policy",
    "check_target",
    "closed_error",
    "cost_record",
    "is_due",
    "stamp",
]

#: Per kind of item: how a flush takes its items out of the queue...
DROP: dict[str, Callable[[PendingBatch, int], PendingBatch]] = {
    "task_updates": drop_task_updates,
    "cost_records": drop_cost_records,
}
#: ...and how it puts them back in front if the send fails (the very same objects).
REQUEUE: dict[str, Callable[[PendingBatch, Sequence[Any]], PendingBatch]] = {
    "task_updates": requeue_task_updates,
    "cost_records": requeue_cost_records,
}


class FlushPolicy(NamedTuple):
    """A batcher's checked arguments (see `shell.batcher.StateBatcher` for each)."""

    clock: Callable[[], float]
    timer: Callable[[], float]
    backend: Any
    job_id: str | None
    max_items: int | None
    max_delay: float | None


def _check_callable(value: Any, field: str) -> None:
    if not callable(value):
        raise InvalidArgumentError(
            f"{field} must be callable, got {describe(value)}", field=field, value=value
        )


def check_policy(
    clock: Any, timer: Any, backend: Any, job_id: Any, max_items: Any, max_delay: Any
) -> FlushPolicy:
    """Check a batcher's arguments. O(1).

    Raises:
        InvalidArgumentError: an argument has the wrong type or value, or a
            policy (``max_items``, ``max_delay``) is given without a backend.
    """
    _check_callable(clock, "clock")
    _check_callable(timer, "timer")
    if backend is not None and not (
        hasattr(backend, "update_tasks") and hasattr(backend, "record_costs")
    ):
        raise InvalidArgumentError(
            "backend must have update_tasks() and record_costs() (a RefStore or "
            f"StateStore), got {type(backend).__name__}: {describe(backend)}",
            field="backend",
            value=backend,
        )
    if job_id is not None:
        check_name(job_id, "job_id")
    items = check_count(max_items, "max_items", none_ok=True)
    delay = check_seconds(max_delay, "max_delay", none_ok=True)
    if backend is None and (items is not None or delay is not None):
        raise InvalidArgumentError(
            "a flush policy (max_items, max_delay) needs a backend to flush into",
            field="backend",
            value=None,
        )
    return FlushPolicy(clock, timer, backend, job_id, items, delay)


def stamp(policy: FlushPolicy, at: Any) -> Any:
    """Return an item's ``at``: the caller's, or the policy's clock reading when it is None."""
    return policy.clock() if at is None else at


def cost_record(
    policy: FlushPolicy, agent_name: Any, expected: Any, actual: Any, job_id: Any, at: Any
) -> dict[str, Any]:
    """Return the record `core.batching.add_cost_record` takes, stamped as `stamp` does."""
    return {
        "agent_name": agent_name,
        "expected": expected,
        "actual": actual,
        "job_id": job_id,
        "at": stamp(policy, at),
    }


def is_due(policy: FlushPolicy, queued: int, oldest: float | None) -> bool:
    """True when ``queued`` items, the oldest added at timer reading ``oldest``, are due. O(1).

    The timer is read only when the delay is what decides.
    """
    return queued > 0 and (
        (policy.max_items is not None and queued >= policy.max_items)
        or (
            oldest is not None
            and policy.max_delay is not None
            and policy.timer() - oldest >= policy.max_delay
        )
    )


def check_flush(policy: FlushPolicy, batch: PendingBatch) -> str | None:
    """Return the job id a `flush` of ``batch`` sends task updates to (None: there are none).

    Raises:
        InvalidArgumentError: no backend is bound, or task updates are queued
            and no ``job_id`` was given.
    """
    if policy.backend is None:
        raise InvalidArgumentError(
            "flush() needs a backend; pass backend= or use flush_task_updates(target)",
            field="backend",
            value=None,
        )
    if not batch.task_updates:
        return None
    if policy.job_id is None:
        raise InvalidArgumentError(
            "job_id is required to flush task updates into a backend",
            field="job_id",
            value=None,
        )
    return policy.job_id


def check_target(target: Any, method: str, job_id: Any = None, *, with_job: bool = False) -> bool:
    """Check an explicit flush's target; True for a store, False for an ObjectRef.

    Args:
        target: A ref (the job's or the budget's) or a store with ``method``.
        method: The store method the flush calls.
        job_id: The job, for task updates: required with a store, refused with a ref.
        with_job: Whether the flush takes a ``job_id`` (task updates do).

    Raises:
        InvalidArgumentError: ``target`` is neither, or ``job_id`` does not fit it.
    """
    if isinstance(target, ray.ObjectRef):
        if job_id is not None:
            raise InvalidArgumentError(
                "job_id is only for a store: a job's ObjectRef already names its job, "
                f"got job_id={describe(job_id)}",
                field="job_id",
                value=job_id,
            )
        return False
    if not hasattr(target, method):
        raise InvalidArgumentError(
            f"target must be a ray.ObjectRef or a store with {method}(), "
            f"got {type(target).__name__}: {describe(target)}",
            field="target",
            value=target,
        )
    if with_job and job_id is None:
        raise InvalidArgumentError(
            "job_id is required to flush into a store", field="job_id", value=None
        )
    return True


def closed_error(batcher: object) -> InvalidArgumentError:
    """Return the error of an add to a batcher that was closed."""
    return InvalidArgumentError(
        f"the {type(batcher).__name__} is closed", field="batcher", value="closed"
    )
