"""`RefStore`: jobs and a budget held as ObjectRefs, under the store's vocabulary.

One writer (this handle, in this process) reads each state through a
`StateCache`, lets the core compute the new one and ``ray.put``s it: the
`StateManager`/`BudgetManager` path, behind the names and return types of
`shell.store.StateStore` (`shell.backend.StateBackend`). A driver moves to the
store, for several writers, by changing the line that makes its backend.
Calls from threads of this process are serialised by a lock, so none is
lost; other processes cannot share it (it refuses to pickle).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn

from core.budget.money import to_money
from core.budget.reducers import BudgetState, ReservationDecision
from core.budget.summary import summarize_budget
from core.errors import describe
from core.jobs.job import JobExecution
from core.jobs.reducers import TaskUpdates
from core.jobs.summary import summarize_job
from core.jobs.task import TaskRecord
from shell.cache import StateCache
from shell.errors import DuplicateJobError, InvalidArgumentError, StateUnavailable, UnknownJobError
from shell.inputs import as_batch, check_name, check_reserve_args, check_version
from shell.managers import BudgetManager, StateManager, cache_or_default, clock_or_now

__all__ = ["RefStore"]


class RefStore:
    """A single-writer handle on jobs and a budget held as ObjectRefs; make one with `create`.

    Implements `shell.backend.StateBackend` with `StateStore`'s names,
    arguments, return types and errors. Each write costs at most one
    ``ray.get`` (none when this process wrote the previous version: the
    cache is written through) and one ``ray.put``; reads are cache hits.
    """

    def __init__(
        self, budget_ref: Any, cache: StateCache, clock: Callable[[], float], _token: object
    ) -> None:
        if _token is not _TOKEN:
            raise InvalidArgumentError(
                "make a RefStore with RefStore.create(budget_config, agents_config)",
                field="RefStore",
                value=None,
            )
        self._budget_ref = budget_ref
        self._cache = cache
        self._clock = clock
        self._jobs: dict[str, Any] = {}
        self._versions: dict[str, int] = {}
        self._lock = threading.RLock()
        self._closed = False

    @classmethod
    def create(
        cls,
        budget_config: Mapping[str, Any] | None,
        agents_config: Iterable[Mapping[str, Any]],
        *,
        cache: StateCache | None = None,
        clock: Callable[[], float] | None = None,
    ) -> RefStore:
        """Put a new budget and return a handle holding it (and, later, its jobs).

        Args:
            budget_config: ``{"total_budget": X}`` or None (unlimited).
            agents_config: Agent blocks ``{"name", "price", "max_total_spend"}``.
            cache: Where states are read through and written through; the
                process's default cache when None.
            clock: Epoch seconds stamped on jobs, updates and records that carry
                none; ``shell.managers.now`` when None.

        Raises:
            BudgetError: a config is invalid (nothing is put).
            InvalidArgumentError: ``cache`` or ``clock`` is invalid.
            StateUnavailable: Ray cannot store the budget.
        """
        store, stamp = cache_or_default(cache), clock_or_now(clock)
        budget_ref = BudgetManager.initialize_budget(budget_config, agents_config, cache=store)
        return cls(budget_ref, store, stamp, _TOKEN)

    def __reduce__(self) -> NoReturn:
        raise InvalidArgumentError(
            "a RefStore is a single-writer handle and cannot be pickled; "
            "share state between processes with a StateStore",
            field="RefStore",
            value=None,
        )

    def __repr__(self) -> str:
        closed = ", shut down" if self._closed else ""
        return f"RefStore({len(self._jobs)} jobs{closed})"

    # ------------------------------------------------------------ refs

    def _open(self) -> None:
        if self._closed:
            raise StateUnavailable("the RefStore was shut down", field="store", value="RefStore")

    def _job_ref(self, job_id: Any) -> Any:
        self._open()
        ref = self._jobs.get(check_name(job_id, "job_id"))
        if ref is None:
            raise UnknownJobError(
                f"the store holds no job with job_id {describe(job_id)}",
                field="job_id",
                value=job_id,
            )
        return ref

    def job_ref(self, job_id: str) -> Any:
        """Return the ObjectRef of the job's current version (for the manager API).

        Raises:
            InvalidArgumentError: bad ``job_id``.
            UnknownJobError: no such job.
            StateUnavailable: the handle was shut down.
        """
        with self._lock:
            return self._job_ref(job_id)

    @property
    def budget_ref(self) -> Any:
        """The ObjectRef of the budget's current version."""
        return self._budget_ref

    def _advance(self, job_id: str, old: Any, new: Any) -> int:
        """Keep the job's new ref, bumping its version only when the state changed."""
        if new is not old:
            self._jobs[job_id] = new
            self._versions[job_id] += 1
        return self._versions[job_id]

    # ------------------------------------------------------------ jobs

    def create_job(self, description: str, job_id: str | None = None) -> str:
        """Create an empty job; see `StateStore.create_job`.

        Raises:
            InvalidArgumentError: ``job_id`` is not a non-empty str, or ``description`` not a str.
            DuplicateJobError: the handle already holds ``job_id``.
            StateUnavailable: Ray cannot store it, or the handle was shut down.
        """
        job_id = uuid.uuid4().hex if job_id is None else check_name(job_id, "job_id")
        if not isinstance(description, str):
            raise InvalidArgumentError(
                f"description must be a str, got {describe(description)}",
                field="description",
                value=description,
            )
        with self._lock:
            self._open()
            if job_id in self._jobs:
                raise DuplicateJobError(
                    f"the store already holds a job with job_id {describe(job_id)}",
                    field="job_id",
                    value=job_id,
                )
            _, ref = StateManager.create_job_execution(
                description, job_id, cache=self._cache, clock=self._clock
            )
            self._jobs[job_id] = ref
            self._versions[job_id] = 1
            return job_id

    def add_tasks(self, job_id: str, tasks: Iterable[TaskRecord | Mapping[str, Any]]) -> int:
        """Append tasks to a job, all or none; return its version. See `StateStore.add_tasks`."""
        with self._lock:
            ref = self._job_ref(job_id)
            new = StateManager.add_agent_tasks(ref, as_batch(tasks, "tasks"), cache=self._cache)
            return self._advance(job_id, ref, new)

    def update_tasks(self, job_id: str, updates: TaskUpdates) -> int:
        """Apply task updates in order, all or none; return the job's version.

        Updates without ``at`` are stamped with this handle's clock; a batch
        already parsed (a `StateBatcher`'s) is not validated again.
        See `StateStore.update_tasks`.
        """
        with self._lock:
            ref = self._job_ref(job_id)
            new = StateManager.batch_update_tasks(
                ref, updates, cache=self._cache, clock=self._clock
            )
            return self._advance(job_id, ref, new)

    def job_state(self, job_id: str) -> JobExecution:
        """Return the job's immutable state (a cache hit after this handle's writes)."""
        with self._lock:
            ref = self._job_ref(job_id)
        return StateManager.get_job_execution(ref, cache=self._cache)

    def job_summary(self, job_id: str) -> dict[str, Any]:
        """Return `core.jobs.summary.summarize_job` of the job, a fresh dict; O(rounds)."""
        return summarize_job(self.job_state(job_id))

    def poll_job(
        self, job_id: str, since_version: int | None = None
    ) -> tuple[int, dict[str, Any] | None]:
        """Return ``(version, summary)``, the summary None when ``version == since_version``."""
        check_version(since_version)
        with self._lock:
            ref = self._job_ref(job_id)
            version = self._versions[job_id]
        if version == since_version:
            return version, None
        return version, summarize_job(StateManager.get_job_execution(ref, cache=self._cache))

    # ------------------------------------------------------------ budget

    def reserve(
        self,
        agent_name: str,
        agent_config: Mapping[str, Any] | None = None,
        reservation_id: str | None = None,
    ) -> ReservationDecision:
        """Check the budget and reserve one job's expected cost; see `StateStore.reserve`."""
        check_reserve_args(agent_name, agent_config, reservation_id)
        with self._lock:
            self._open()
            can, expected, reason, self._budget_ref = BudgetManager.check_and_reserve_budget(
                self._budget_ref, agent_name, agent_config, reservation_id, cache=self._cache
            )
        return ReservationDecision(can, expected, reason)

    def release(self, agent_name: str, amount: Any) -> None:
        """Give back part of an agent's reservation; see `StateStore.release`."""
        check_name(agent_name, "agent_name")
        to_money(amount, "amount")
        with self._lock:
            self._open()
            self._budget_ref = BudgetManager.release_reservation(
                self._budget_ref, agent_name, amount, cache=self._cache
            )

    def record_costs(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Record paid jobs, all or none, idempotently by job id; see `StateStore.record_costs`."""
        batch = as_batch(records, "records", mappings=True)
        with self._lock:
            self._open()
            self._budget_ref = BudgetManager.batch_record_costs(
                self._budget_ref, batch, cache=self._cache, clock=self._clock
            )

    def budget_state(self) -> BudgetState:
        """Return the budget's immutable state (what `BudgetCalculator` takes)."""
        with self._lock:
            self._open()
            ref = self._budget_ref
        return BudgetManager.get_budget_state(ref, cache=self._cache)

    def budget_summary(self) -> dict[str, Any]:
        """Return `core.budget.summary.summarize_budget` of the budget, a fresh dict."""
        return summarize_budget(self.budget_state())

    def shutdown(self) -> None:
        """Forget every ref (Ray frees what nothing else holds); later calls raise StateUnavailable.

        Calling it twice is harmless.
        """
        with self._lock:
            self._closed = True
            self._jobs.clear()


_TOKEN = object()
