"""`AsyncStateManager` and `AsyncBudgetManager`: the ref-path managers for an event loop.

Each coroutine first awaits the state it will read into the managers' shared
cache (`shell.aio.cache.AsyncStateCache`), then runs the sync manager's own
method, which finds the state there: validation, the core's decision and the
``ray.put`` are the sync method's, so results and errors are the same, and no
``ray.get`` is ever made. The one difference: a ref that cannot be fetched
raises `StateUnavailable` before the other arguments are checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from core.budget.reducers import BudgetState
from core.jobs.job import JobExecution
from core.jobs.reducers import TaskUpdates
from core.jobs.task import TaskRecord
from shell.aio.cache import AsyncStateCache
from shell.managers import BudgetManager, StateManager

__all__ = ["AsyncBudgetManager", "AsyncStateManager"]


async def _prefetch(ref: Any) -> None:
    """Await ``ref``'s state into the managers' cache, unless it is there already."""
    await AsyncStateCache().get(ref)


class AsyncStateManager:
    """Async twin of `shell.managers.StateManager`; static coroutines only."""

    @staticmethod
    async def create_job_execution(description: str, job_id: str | None = None) -> tuple[str, Any]:
        """As `StateManager.create_job_execution` (one local ``ray.put``, no round trip)."""
        return StateManager.create_job_execution(description, job_id)

    @staticmethod
    async def add_agent_task(ref: Any, task: TaskRecord | Mapping[str, Any]) -> Any:
        """As `StateManager.add_agent_task`."""
        await _prefetch(ref)
        return StateManager.add_agent_task(ref, task)

    @staticmethod
    async def add_agent_tasks(ref: Any, tasks: Iterable[TaskRecord | Mapping[str, Any]]) -> Any:
        """As `StateManager.add_agent_tasks`."""
        await _prefetch(ref)
        return StateManager.add_agent_tasks(ref, tasks)

    @staticmethod
    async def batch_update_tasks(ref: Any, updates: TaskUpdates) -> Any:
        """As `StateManager.batch_update_tasks`."""
        await _prefetch(ref)
        return StateManager.batch_update_tasks(ref, updates)

    @staticmethod
    async def get_job_execution(ref: Any) -> JobExecution:
        """As `StateManager.get_job_execution`."""
        await _prefetch(ref)
        return StateManager.get_job_execution(ref)

    @staticmethod
    async def get_job_summary(ref: Any) -> Mapping[str, Any]:
        """As `StateManager.get_job_summary`."""
        await _prefetch(ref)
        return StateManager.get_job_summary(ref)

    @staticmethod
    async def get_results(ref: Any) -> list[dict[str, Any]]:
        """As `StateManager.get_results`."""
        await _prefetch(ref)
        return StateManager.get_results(ref)


class AsyncBudgetManager:
    """Async twin of `shell.managers.BudgetManager`; static coroutines only."""

    @staticmethod
    async def initialize_budget(
        budget_config: Mapping[str, Any] | None, agents_config: Iterable[Mapping[str, Any]]
    ) -> Any:
        """As `BudgetManager.initialize_budget` (one local ``ray.put``, no round trip)."""
        return BudgetManager.initialize_budget(budget_config, agents_config)

    @staticmethod
    async def check_and_reserve_budget(
        ref: Any,
        agent_name: str,
        agent_config: Mapping[str, Any] | None,
        reservation_id: str | None = None,
    ) -> tuple[bool, Decimal, str, Any]:
        """As `BudgetManager.check_and_reserve_budget`."""
        await _prefetch(ref)
        return BudgetManager.check_and_reserve_budget(ref, agent_name, agent_config, reservation_id)

    @staticmethod
    async def release_reservation(ref: Any, agent_name: str, amount: Any) -> Any:
        """As `BudgetManager.release_reservation`."""
        await _prefetch(ref)
        return BudgetManager.release_reservation(ref, agent_name, amount)

    @staticmethod
    async def batch_record_costs(ref: Any, cost_records: Iterable[Mapping[str, Any]]) -> Any:
        """As `BudgetManager.batch_record_costs`."""
        await _prefetch(ref)
        return BudgetManager.batch_record_costs(ref, cost_records)

    @staticmethod
    async def get_budget_summary(ref: Any) -> Mapping[str, Any]:
        """As `BudgetManager.get_budget_summary`."""
        await _prefetch(ref)
        return BudgetManager.get_budget_summary(ref)

    @staticmethod
    async def get_budget_state(ref: Any) -> BudgetState:
        """As `BudgetManager.get_budget_state`."""
        await _prefetch(ref)
        return BudgetManager.get_budget_state(ref)
