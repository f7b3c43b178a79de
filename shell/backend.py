"""`StateBackend`: the one vocabulary both state backends speak, refs and the store.

A driver written against this protocol moves from a `shell.refstore.RefStore`
(one writer, states as ObjectRefs) to a `shell.store.StateStore` (many
writers, one actor) by changing the line that makes it. Same names, same
arguments, same return types where the meaning is the same. A backend may
take extra optional keyword arguments (an idempotency key, say) beyond these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from core.budget.reducers import BudgetState, ReservationDecision
from core.jobs.job import JobExecution
from core.jobs.reducers import TaskUpdates
from core.jobs.task import TaskRecord

__all__ = ["StateBackend"]


@runtime_checkable
class StateBackend(Protocol):
    """What a driver needs from where the jobs and the budget live.

    Implemented by `shell.store.StateStore` and `shell.refstore.RefStore`.
    Every method raises only `core.errors.StateError`s: bad input as the
    core's or the shell's input errors, an unreachable state as
    `shell.errors.StateUnavailable`.
    """

    def create_job(self, description: str, job_id: str | None = None) -> str:
        """Create an empty job (a fresh id when ``job_id`` is None); return its id."""
        ...

    def add_tasks(self, job_id: str, tasks: Iterable[TaskRecord | Mapping[str, Any]]) -> int:
        """Append tasks to a job, all or none; return the job's version."""
        ...

    def update_tasks(self, job_id: str, updates: TaskUpdates) -> int:
        """Apply a batch of task updates in order, all or none; return the job's version."""
        ...

    def job_summary(self, job_id: str) -> dict[str, Any]:
        """Return the job's summary (`core.jobs.summary.summarize_job`), a fresh dict."""
        ...

    def poll_job(
        self, job_id: str, since_version: int | None = None
    ) -> tuple[int, dict[str, Any] | None]:
        """Return ``(version, summary)``, the summary None when ``version == since_version``."""
        ...

    def job_state(self, job_id: str) -> JobExecution:
        """Return the job's immutable state."""
        ...

    def reserve(
        self,
        agent_name: str,
        agent_config: Mapping[str, Any] | None = None,
        reservation_id: str | None = None,
    ) -> ReservationDecision:
        """Check the budget and reserve one job's expected cost in one step."""
        ...

    def release(self, agent_name: str, amount: Any) -> None:
        """Give back part of an agent's reservation."""
        ...

    def record_costs(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Record paid jobs, all or none, idempotently by ``job_id``."""
        ...

    def budget_summary(self) -> dict[str, Any]:
        """Return the budget's summary (`core.budget.summary.summarize_budget`), a fresh dict."""
        ...

    def budget_state(self) -> BudgetState:
        """Return the budget's immutable state (what `BudgetCalculator` takes)."""
        ...


if TYPE_CHECKING:
    from shell.refstore import RefStore
    from shell.store import StateStore

    def _both_backends(store: StateStore, refs: RefStore) -> tuple[StateBackend, StateBackend]:
        """Never called: mypy --strict proves here that both classes implement the protocol."""
        return store, refs
