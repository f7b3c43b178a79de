"""The state-owning side of `shell.store.StateStore`: a plain class Ray runs as one actor.

`StoreCore` holds every job (with a version counter each) and one budget,
and makes every decision with the core's reducers. It is deliberately a
plain, synchronous class: Ray runs a sync actor's methods one at a time, and
no method awaits or yields between reading the state and writing the new
one, so concurrent callers are serialised and none of them can act on a
stale read. It reads no clock: timestamps arrive as arguments, stamped by
the caller. Being plain Python, it is also testable without Ray.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from core.budget.reducers import (
    BudgetState,
    ReservationDecision,
    new_budget,
    record_costs,
    release_reservation,
    reserve,
)
from core.budget.summary import summarize_budget
from core.errors import describe
from core.jobs.job import JobExecution, add_tasks, new_job
from core.jobs.reducers import TaskUpdates, apply_task_updates
from core.jobs.summary import summarize_job
from core.jobs.task import TaskRecord
from shell.errors import DuplicateJobError, UnknownJobError

__all__ = ["PROTOCOL", "DuplicateJobError", "StoreCore", "UnknownJobError"]

#: Answer of `StoreCore.ping`, so `StateStore.connect` can tell a store from another actor.
PROTOCOL = "eap-state/store/1"


class StoreCore:
    """Every job and the budget of one store; the body of the StateStore actor.

    Args:
        budget_config: The ``budget`` config block, as for `core.budget.new_budget`.
        agents_config: The ``agents`` config blocks, as for `core.budget.new_budget`.

    Raises:
        BudgetError: a config is invalid.
    """

    def __init__(
        self, budget_config: Mapping[str, Any] | None, agents_config: Iterable[Mapping[str, Any]]
    ) -> None:
        self._budget: BudgetState = new_budget(budget_config, agents_config)
        self._jobs: dict[str, JobExecution] = {}
        # Bumped only when a reducer returns a new state, so pollers see
        # "unchanged" for no-op writes (a repeated status, a retried record).
        self._versions: dict[str, int] = {}

    def ping(self) -> str:
        """Return `PROTOCOL`; proves the actor is alive and is a store."""
        return PROTOCOL

    def _job(self, job_id: str) -> JobExecution:
        job = self._jobs.get(job_id)
        if job is None:
            raise UnknownJobError(
                f"the store holds no job with job_id {describe(job_id)}",
                field="job_id",
                value=job_id,
            )
        return job

    def _commit(self, job_id: str, old: JobExecution, new: JobExecution) -> int:
        if new is not old:
            self._jobs[job_id] = new
            self._versions[job_id] += 1
        return self._versions[job_id]

    def create_job(self, job_id: str, description: str, created_at: float | None) -> str:
        """Create an empty job at version 1.

        Raises:
            DuplicateJobError: the store already holds ``job_id``; nothing changes.
            InvalidTaskError: ``job_id`` or ``description`` is malformed.
        """
        if job_id in self._jobs:
            raise DuplicateJobError(
                f"the store already holds a job with job_id {describe(job_id)}",
                field="job_id",
                value=job_id,
            )
        self._jobs[job_id] = new_job(job_id, description, created_at)
        self._versions[job_id] = 1
        return job_id

    def add_tasks(self, job_id: str, tasks: Iterable[TaskRecord | Mapping[str, Any]]) -> int:
        """Append tasks to a job, all or none; return its version.

        Raises:
            UnknownJobError: no such job.
            DuplicateTaskError, InvalidTaskError: as `core.jobs.job.add_tasks`; nothing changes.
        """
        job = self._job(job_id)
        return self._commit(job_id, job, add_tasks(job, tasks))

    def update_tasks(self, job_id: str, updates: TaskUpdates) -> int:
        """Apply a batch of task updates, all or none; return the job's version.

        Raises:
            UnknownJobError: no such job.
            StateError: as `core.jobs.reducers.apply_task_updates`; nothing changes.
        """
        job = self._job(job_id)
        return self._commit(job_id, job, apply_task_updates(job, updates))

    def job_summary(self, job_id: str) -> dict[str, Any]:
        """Return `core.jobs.summary.summarize_job` of the job (O(rounds), not O(tasks)).

        Raises:
            UnknownJobError: no such job.
        """
        return summarize_job(self._job(job_id))

    def job_state(self, job_id: str) -> JobExecution:
        """Return the job's current immutable state.

        Raises:
            UnknownJobError: no such job.
        """
        return self._job(job_id)

    def job_version(self, job_id: str) -> int:
        """Return the job's version: 1 at creation, +1 per change.

        Raises:
            UnknownJobError: no such job.
        """
        self._job(job_id)
        return self._versions[job_id]

    def poll_job(self, job_id: str, since_version: int | None) -> tuple[int, dict[str, Any] | None]:
        """Return ``(version, summary)``, with ``summary`` None when ``version == since_version``.

        Raises:
            UnknownJobError: no such job.
        """
        version = self.job_version(job_id)
        if version == since_version:
            return version, None
        return version, self.job_summary(job_id)

    def reserve(
        self,
        agent_name: str,
        agent_config: Mapping[str, Any] | None,
        reservation_id: str | None,
    ) -> ReservationDecision:
        """Check and reserve one job's expected cost in one step (`core.budget.reserve`).

        Raises:
            BudgetError: as `core.budget.reserve`; nothing changes.
        """
        decision, self._budget = reserve(self._budget, agent_name, agent_config, reservation_id)
        return decision

    def release(self, agent_name: str, amount: Any) -> None:
        """Give back part of an agent's reservation (`core.budget.release_reservation`).

        Raises:
            BudgetError: unknown agent or bad amount; nothing changes.
        """
        self._budget = release_reservation(self._budget, agent_name, amount)

    def record_costs(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Record paid jobs atomically and idempotently by job id (`core.budget.record_costs`).

        Raises:
            BudgetError: as `core.budget.record_costs`; nothing changes.
        """
        self._budget = record_costs(self._budget, records)

    def budget_summary(self) -> dict[str, Any]:
        """Return `core.budget.summary.summarize_budget` of the budget."""
        return summarize_budget(self._budget)

    def budget_state(self) -> BudgetState:
        """Return the current immutable budget state."""
        return self._budget
