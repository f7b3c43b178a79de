"""Waiting for a change in the store actor without blocking its writer.

The store actor stays a plain synchronous actor whose writer calls run one at
a time in Ray's default concurrency group. Calls that wait for a change run in
a second group, `WAIT_GROUP`, on threads of their own. They never touch the
writer's working state: after each write the writer *publishes* the immutable
values it swapped in (a `core.jobs.job.JobExecution` per job, the
`core.budget.reducers.BudgetState`) on a `ChangeBoard`, a condition variable
over those values and their versions, and the waiters read only the board.
Since every published value is immutable, a waiter can summarize it while the
writer goes on.

`Waiting` is the mixin that gives `shell.store_actor.StoreCore` its
``wait_job``, ``wait_budget`` and ``call_many`` methods; the actor itself only
publishes where it swaps its state.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from core.budget.reducers import BudgetState
from core.budget.summary import summarize_budget
from core.jobs.job import JobExecution
from core.jobs.summary import summarize_job
from shell.errors import InvalidArgumentError, UnknownJobError

__all__ = ["WAIT_GROUP", "WAIT_METHODS", "WAIT_THREADS", "ChangeBoard", "Waiting"]

#: Ray concurrency group that runs the waiting calls, apart from the writer's.
WAIT_GROUP = "wait"
#: Threads of `WAIT_GROUP`: the most waiting calls one store serves at once
#: (more queue behind them). The async handle shares one waiting call per job
#: among all the watchers of a process, so this bounds processes, not watchers.
WAIT_THREADS = 64
#: Actor methods that run in `WAIT_GROUP`.
WAIT_METHODS = frozenset({"wait_job", "wait_budget"})


class ChangeBoard:
    """The published versions of a store's jobs and budget, and a condition to wait on.

    Every method holds the board's lock only for O(1) work: publishing swaps
    a reference and wakes the waiters; a waiter re-checks one version per wake.

    Args:
        budget: The budget as the store starts with it, at version 1.
    """

    def __init__(self, budget: BudgetState) -> None:
        self._changed = threading.Condition()
        self._jobs: dict[str, tuple[int, JobExecution]] = {}
        self._budget: tuple[int, BudgetState] = (1, budget)

    def publish_job(self, job_id: str, version: int, job: JobExecution) -> None:
        """Publish a job's new immutable state and version, and wake its waiters; O(1)."""
        with self._changed:
            current = self._jobs.get(job_id)
            if current is not None and current[0] == version and current[1] is job:
                return
            self._jobs[job_id] = (version, job)
            self._changed.notify_all()

    def forget_job(self, job_id: str) -> None:
        """Drop a job from the board (a store that closed it keeps no copy); O(1)."""
        with self._changed:
            self._jobs.pop(job_id, None)
            self._changed.notify_all()

    def publish_budget(self, budget: BudgetState) -> int:
        """Publish the budget; its version goes up by one if it is a new value. O(1).

        Reducers return the very same value for a no-op, so a repeated
        reservation or cost record wakes nobody.

        Returns:
            The budget's version after the call.
        """
        with self._changed:
            version, current = self._budget
            if budget is not current:
                version += 1
                self._budget = (version, budget)
                self._changed.notify_all()
            return version

    def budget_version(self) -> int:
        """Return the budget's version: 1 at start, +1 per change."""
        with self._changed:
            return self._budget[0]

    def wait_job(
        self, job_id: str, since_version: int | None, timeout: float
    ) -> tuple[int, JobExecution | None]:
        """Wait until the job's version differs from ``since_version``, or ``timeout`` seconds.

        Returns:
            ``(version, job)`` once it differs (at once if it already does, or
            when ``since_version`` is None); ``(since_version, None)`` on timeout.

        Raises:
            UnknownJobError: the board holds no such job (also when it goes away while waited).
        """
        with self._changed:
            self._changed.wait_for(
                lambda: self._jobs.get(job_id, (None, None))[0] != since_version, timeout
            )
            entry = self._jobs.get(job_id)
        if entry is None:
            raise UnknownJobError(
                f"the store holds no job with job_id {job_id!r}", field="job_id", value=job_id
            )
        version, job = entry
        if version == since_version:
            return version, None
        return version, job

    def wait_budget(
        self, since_version: int | None, timeout: float
    ) -> tuple[int, BudgetState | None]:
        """Wait until the budget's version differs from ``since_version``, or ``timeout`` seconds.

        Returns:
            ``(version, budget)`` once it differs; ``(since_version, None)`` on timeout.
        """
        with self._changed:
            self._changed.wait_for(lambda: self._budget[0] != since_version, timeout)
            version, budget = self._budget
        if version == since_version:
            return version, None
        return version, budget


class Waiting:
    """Mixin of the store actor: waiting calls that read only the `ChangeBoard`.

    The class mixing it in sets ``self._board`` in its constructor and
    publishes to it wherever it swaps in a new state.
    """

    _board: ChangeBoard

    def wait_job(
        self, job_id: str, since_version: int | None, timeout: float
    ) -> tuple[int, dict[str, Any] | None]:
        """Like ``poll_job``, but wait up to ``timeout`` seconds for the version to change.

        Runs in `WAIT_GROUP`, so writers go on meanwhile; summarizing is
        O(rounds) and done outside the board's lock.

        Returns:
            ``(version, summary)``, or ``(since_version, None)`` when nothing changed in time.

        Raises:
            UnknownJobError: no such job.
        """
        version, job = self._board.wait_job(job_id, since_version, timeout)
        return version, None if job is None else summarize_job(job)

    def wait_budget(
        self, since_version: int | None, timeout: float
    ) -> tuple[int, dict[str, Any] | None]:
        """Wait up to ``timeout`` seconds for the budget's version to differ from ``since_version``.

        Returns:
            ``(version, summary)`` (`core.budget.summary.summarize_budget`), or
            ``(since_version, None)`` when nothing changed in time.
        """
        version, budget = self._board.wait_budget(since_version, timeout)
        return version, None if budget is None else summarize_budget(budget)

    def call_many(self, requests: Sequence[tuple[str, tuple[Any, ...]]]) -> list[tuple[bool, Any]]:
        """Run several callers' requests in one actor call, each atomic on its own.

        The async handle coalesces concurrent single calls into one of these,
        so submitting 400 calls costs a handful of remote calls. Each request
        succeeds or fails alone, exactly as if it had been sent by itself;
        O(sum of the requests).

        Args:
            requests: ``(method, args)`` pairs naming public, non-waiting methods.

        Returns:
            ``(True, reply)`` or ``(False, error)`` per request, in order.
        """
        replies: list[tuple[bool, Any]] = []
        for method, args in requests:
            if method.startswith("_") or method in WAIT_METHODS or method == "call_many":
                replies.append((False, _not_batchable(method)))
                continue
            try:
                replies.append((True, getattr(self, method)(*args)))
            except Exception as err:
                replies.append((False, err))
        return replies


def _not_batchable(method: str) -> Exception:
    return InvalidArgumentError(f"call_many cannot run {method!r}", field="method", value=method)
