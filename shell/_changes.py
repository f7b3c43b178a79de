"""Waiting for a change in the store actor without blocking its writer.

The store actor stays a plain synchronous actor whose writer calls run one at
a time in Ray's default concurrency group. Calls that wait for a change run in
a second group, `WAIT_GROUP`, on threads of their own. They never touch the
writer's working state: where the writer swaps in its new state (one
immutable `core.ledger.LedgerState`, jobs, versions and budget together) it
also *publishes* it on a `ChangeBoard`, a condition variable over that one
value, and the waiters read only the board. Since the published value is
immutable, a waiter can summarize it while the writer goes on.

`Waiting` is the mixin that gives `shell.store_actor.StoreCore` its
``wait_job``, ``wait_budget`` and ``call_many`` methods; the actor itself only
publishes in the one place it swaps its state.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from core.budget.summary import summarize_budget
from core.ledger import LedgerState, job_summary, job_version, poll_job
from shell.errors import InvalidArgumentError, StateUnavailable

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
    """The store's last published state (one immutable `core.ledger.LedgerState`) to wait on.

    Publishing swaps one reference and wakes the waiters, O(1) under the lock;
    each waiter re-checks one version, O(1) (a map lookup).
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._state: LedgerState | None = None

    def publish(self, state: LedgerState) -> None:
        """Make ``state`` the one waiters read, and wake them; O(1)."""
        with self._changed:
            self._state = state
            self._changed.notify_all()

    def _published(self) -> LedgerState:
        state = self._state
        if state is None:
            raise StateUnavailable(
                "the store has not read its state yet (its journal is unreachable)",
                field="store",
                value=None,
            )
        return state

    def wait_job(
        self, job_id: str, since_version: int | None, timeout: float
    ) -> tuple[int, dict[str, Any] | None]:
        """Wait until the job's version differs from ``since_version``, or ``timeout`` seconds.

        Returns:
            `core.ledger.poll_job` of the state published then: ``(version,
            summary)`` once it differs (at once if it already does, or when
            ``since_version`` is None); ``(since_version, None)`` on timeout.
            A closed job answers at once with its version and final summary,
            whatever ``since_version`` is: it will never change again.

        Raises:
            UnknownJobError: the store holds no such job.
            StateUnavailable: the store has no state yet.
        """
        with self._changed:
            self._changed.wait_for(lambda: self._job_moved(job_id, since_version), timeout)
            state = self._published()
        # Summarized outside the lock: the state is immutable, writers go on.
        if job_id in state.closed:
            # It will never change again: say so now rather than let the caller wait.
            return job_version(state, job_id), job_summary(state, job_id)
        return poll_job(state, job_id, since_version)

    def _job_moved(self, job_id: str, since_version: int | None) -> bool:
        """True once the job's version differs from ``since_version`` or it is closed (locked)."""
        state = self._state
        if state is None:
            return False
        return job_id in state.closed or job_version(state, job_id) != since_version

    def wait_budget(
        self, since_version: int | None, timeout: float
    ) -> tuple[int, dict[str, Any] | None]:
        """Wait until the budget's version differs from ``since_version``, or ``timeout`` seconds.

        Returns:
            ``(version, summary)`` once it differs; ``(since_version, None)`` on timeout.

        Raises:
            StateUnavailable: the store has no state yet.
        """
        with self._changed:
            self._changed.wait_for(
                lambda: self._state is not None and self._state.budget_version != since_version,
                timeout,
            )
            state = self._published()
        if state.budget_version == since_version:
            return state.budget_version, None
        return state.budget_version, summarize_budget(state.budget)


class Waiting:
    """Mixin of the store actor: waiting calls that read only the `ChangeBoard`.

    The class mixing it in sets ``self._board`` in its constructor and
    publishes to it where it swaps in a new state.
    """

    _board: ChangeBoard

    def wait_job(
        self, job_id: str, since_version: int | None, timeout: float
    ) -> tuple[int, dict[str, Any] | None]:
        """Like ``poll_job``, but wait up to ``timeout`` seconds for the version to change.

        Runs in `WAIT_GROUP`, so writers go on meanwhile (`ChangeBoard.wait_job`).

        Raises:
            UnknownJobError: no such job.
        """
        return self._board.wait_job(job_id, since_version, timeout)

    def wait_budget(
        self, since_version: int | None, timeout: float
    ) -> tuple[int, dict[str, Any] | None]:
        """Wait up to ``timeout`` seconds for the budget's version to differ from ``since_version``.

        Returns:
            ``(version, summary)`` (`core.budget.summary.summarize_budget`), or
            ``(since_version, None)`` when nothing changed in time.
        """
        return self._board.wait_budget(since_version, timeout)

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
