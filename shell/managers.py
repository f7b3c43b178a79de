"""`StateManager` and `BudgetManager`: the core's reducers applied to states held by Ray.

Each write reads the current state (from a `StateCache` when it is there,
else with one ``ray.get``), lets the core compute the new state, and
``ray.put``s it once; the new state is remembered for its new ref
(write-through), so the same process reading it back costs no ``ray.get``.
The cache is the process's default one unless a method is given another
(``cache=``); the clock that stamps updates and records is `now` unless it is
given another (``clock=``).

These static methods are the design note's compatibility surface; the same
operations under the store's names are `shell.refstore.RefStore`.
The shell only gathers inputs (refs, the clock, fresh ids) and validates
arguments before any Ray call; every decision is the core's.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from core.batch_args import item_ident, plain_mapping
from core.batching import add_cost_record, empty_batch
from core.budget.reducers import (
    BudgetState,
    new_budget,
    record_costs,
    release_reservation,
    reserve,
)
from core.budget.summary import summarize_budget
from core.errors import BudgetError, InvalidTaskError, InvalidUpdateError, StateError, describe
from core.frozen import freeze
from core.jobs.job import JobExecution, add_tasks, new_job
from core.jobs.reducers import TaskUpdates, apply_task_updates
from core.jobs.summary import job_results, summarize_job
from core.jobs.task import TaskRecord, iter_task_records
from shell.cache import StateCache
from shell.errors import InvalidArgumentError
from shell.inputs import as_batch, stamp_task_updates
from shell.ray_ops import check_ref, describe_ref, ray_put

__all__ = [
    "BudgetManager",
    "StateManager",
    "cache_or_default",
    "clock_or_now",
    "default_cache",
    "now",
]

_DEFAULT_CACHE = StateCache()


def default_cache() -> StateCache:
    """Return the process-wide cache the managers read through and write through."""
    return _DEFAULT_CACHE


def now() -> float:
    """Return the wall-clock time the shell stamps on updates and records (epoch seconds)."""
    return time.time()


def cache_or_default(cache: Any) -> StateCache:
    """Return the cache to use: ``cache``, or the default one when None.

    Raises:
        InvalidArgumentError: ``cache`` is neither None nor a `StateCache`.
    """
    if cache is None:
        return _DEFAULT_CACHE
    if not isinstance(cache, StateCache):
        raise InvalidArgumentError(
            f"cache must be a StateCache or None, got {type(cache).__name__}: {describe(cache)}",
            field="cache",
            value=cache,
        )
    return cache


def clock_or_now(clock: Any) -> Callable[[], float]:
    """Return the clock to stamp with: ``clock``, or `now` when None.

    Raises:
        InvalidArgumentError: ``clock`` is neither None nor callable.
    """
    if clock is None:
        return now
    if not callable(clock):
        raise InvalidArgumentError(
            f"clock must be callable or None, got {describe(clock)}", field="clock", value=clock
        )
    return clock  # type: ignore[no-any-return]


def _put(state: Any, cache: StateCache) -> Any:
    """``ray.put`` a new state and remember it for its ref."""
    ref = ray_put(state)
    cache.remember(ref, state)
    return ref


def _stamped_records(cost_records: Any, at: float) -> list[Mapping[str, Any]]:
    """Validate cost records (amounts made exact) and stamp ``at`` on those without one.

    Raises:
        BudgetError: the first malformed record's error, naming its index and job id.
    """
    batch = empty_batch()
    for index, raw in enumerate(as_batch(cost_records, "cost_records", BudgetError)):
        try:
            if isinstance(raw, Mapping):
                raw = plain_mapping(raw, "record", BudgetError)
                if raw.get("at") is None:
                    raw = {**raw, "at": at}
            batch = add_cost_record(batch, raw)
        except StateError as err:
            ident = item_ident(raw, "job_id")
            raise err.in_batch(index, ident, item="record", ident_name="job_id") from err
    return list(batch.cost_records)


def _check_state(state: Any, kind: type, where: str = "state") -> None:
    if not isinstance(state, kind):
        raise InvalidArgumentError(
            f"{where} holds a {type(state).__name__}, not a {kind.__name__}",
            field="state",
            value=type(state).__name__,
        )


def _read(ref: Any, kind: type, cache: StateCache) -> Any:
    """Return the state of ``ref`` (through the cache), checking it is a ``kind``.

    Raises:
        InvalidArgumentError: ``ref`` is not an ObjectRef or holds something else.
        StateUnavailable: the object cannot be fetched.
    """
    state = cache.get(ref)
    _check_state(state, kind, describe_ref(ref))
    return state


class StateManager:
    """Job executions held in Ray's object store, updated in batches; static methods only.

    Every method takes an optional keyword ``cache`` (a `StateCache`; the
    default cache when None) and those that stamp take ``clock`` (epoch
    seconds; `now` when None). Both are checked before any Ray call and raise
    `InvalidArgumentError` when they are neither None nor of the right kind.
    """

    @staticmethod
    def create_job_execution(
        description: str,
        job_id: str | None = None,
        *,
        cache: StateCache | None = None,
        clock: Callable[[], float] | None = None,
    ) -> tuple[str, Any]:
        """Create an empty job stamped with the current time and put it.

        Args:
            description: The audience description.
            job_id: Identifier to use; a fresh uuid4 hex when None.

        Returns:
            ``(job_id, ref)``.

        Raises:
            InvalidTaskError: ``description`` or ``job_id`` is invalid.
        """
        store, stamp = cache_or_default(cache), clock_or_now(clock)
        job = new_job(uuid.uuid4().hex if job_id is None else job_id, description, stamp())
        return job.job_id, _put(job, store)

    @staticmethod
    def add_agent_task(
        ref: Any, task: TaskRecord | Mapping[str, Any], *, cache: StateCache | None = None
    ) -> Any:
        """Add one task to the job; see `add_agent_tasks`."""
        return StateManager.add_agent_tasks(ref, [task], cache=cache)

    @staticmethod
    def add_agent_tasks(
        ref: Any,
        tasks: Iterable[TaskRecord | Mapping[str, Any]],
        *,
        cache: StateCache | None = None,
    ) -> Any:
        """Add tasks to the job, all or none, with at most one ``ray.get`` and one ``ray.put``.

        Args:
            ref: ObjectRef of the job.
            tasks: `TaskRecord`s or mappings ``{"task_id", "agent_name",
                "input_data" (optional), "round" (optional, default 1)}``.

        Returns:
            The new ref; ``ref`` itself, with no Ray call, when ``tasks`` is empty.

        Raises:
            InvalidArgumentError: ``ref`` is not an ObjectRef.
            InvalidTaskError: a task is malformed (checked before any Ray call).
            DuplicateTaskError: a task id is already in the job or repeated.
            StateUnavailable: the job cannot be fetched.
        """
        store = cache_or_default(cache)
        check_ref(ref)
        records = list(iter_task_records(as_batch(tasks, "tasks", InvalidTaskError)))
        if not records:
            return ref
        return _put(add_tasks(_read(ref, JobExecution, store), records), store)

    @staticmethod
    def batch_update_tasks(
        ref: Any,
        updates: TaskUpdates,
        *,
        cache: StateCache | None = None,
        clock: Callable[[], float] | None = None,
    ) -> Any:
        """Apply task updates in order, all or none, in at most one ``ray.get`` and one ``ray.put``.

        Args:
            ref: ObjectRef of the job.
            updates: ``{"task_id", "status", optional "result", "error", "at"}``
                mappings or `TaskUpdate`s; a missing ``at`` is stamped now.

        Returns:
            The new ref; ``ref`` itself, with no Ray call, for an empty batch.

        Raises:
            InvalidArgumentError: ``ref`` is not an ObjectRef.
            InvalidUpdateError: an update is malformed (checked before any Ray call).
            UnknownTaskError, InvalidTransitionError: from the core; nothing is put.
            StateUnavailable: the job cannot be fetched.
        """
        store, stamp = cache_or_default(cache), clock_or_now(clock)
        check_ref(ref)
        parsed = stamp_task_updates(updates, stamp(), InvalidUpdateError)
        if not len(parsed):
            return ref
        job = _read(ref, JobExecution, store)
        new = apply_task_updates(job, parsed)
        return ref if new is job else _put(new, store)

    @staticmethod
    def get_job_execution(ref: Any, *, cache: StateCache | None = None) -> JobExecution:
        """Return the job's core state (cached by ref).

        Raises:
            InvalidArgumentError: ``ref`` is not an ObjectRef.
            StateUnavailable: the job cannot be fetched.
        """
        return _read(ref, JobExecution, cache_or_default(cache))  # type: ignore[no-any-return]

    @staticmethod
    def _compute_job_summary(state: JobExecution) -> Mapping[str, Any]:
        """Return the core's job summary, frozen because cached summaries are shared.

        Raises:
            InvalidArgumentError: ``state`` is not a `JobExecution`.
        """
        _check_state(state, JobExecution)
        return freeze(summarize_job(state))  # type: ignore[no-any-return]

    @staticmethod
    def get_job_summary(ref: Any, *, cache: StateCache | None = None) -> Mapping[str, Any]:
        """Return the job's summary (always cached), read-only.

        Returns:
            The `core.jobs.summary.summarize_job` fields as a read-only mapping.

        Raises:
            InvalidArgumentError: ``ref`` is not an ObjectRef.
            StateUnavailable: the job cannot be fetched.
        """
        return cache_or_default(cache).get(ref, StateManager._compute_job_summary)  # type: ignore[no-any-return]

    @staticmethod
    def get_results(ref: Any, *, cache: StateCache | None = None) -> list[dict[str, Any]]:
        """Return one fresh, mutable row per completed task, in insertion order.

        Raises:
            InvalidArgumentError: ``ref`` is not an ObjectRef.
            StateUnavailable: the job cannot be fetched.
        """
        return job_results(_read(ref, JobExecution, cache_or_default(cache)))


class BudgetManager:
    """The budget held in Ray's object store; static methods only.

    Takes ``cache`` (and, for `batch_record_costs`, ``clock``) like `StateManager`.
    """

    @staticmethod
    def initialize_budget(
        budget_config: Mapping[str, Any] | None,
        agents_config: Iterable[Mapping[str, Any]],
        *,
        cache: StateCache | None = None,
    ) -> Any:
        """Build a budget from the service config and put it.

        Args:
            budget_config: ``{"total_budget": X}``; None or a missing key is unlimited.
            agents_config: ``{"name", "price", "max_total_spend"}`` per agent.

        Returns:
            The budget's ObjectRef.

        Raises:
            BudgetError: the config is invalid (nothing is put).
        """
        store = cache_or_default(cache)
        return _put(new_budget(budget_config, agents_config), store)

    @staticmethod
    def check_and_reserve_budget(
        ref: Any,
        agent_name: str,
        agent_config: Mapping[str, Any] | None,
        reservation_id: str | None = None,
        *,
        cache: StateCache | None = None,
    ) -> tuple[bool, Decimal, str, Any]:
        """Reserve one job's expected cost for an agent if the budget allows.

        Args:
            ref: ObjectRef of the budget.
            agent_name: The agent about to run a job.
            agent_config: Its config block, used only when the agent is new.
            reservation_id: Idempotency key; a retry returns the first answer.

        Returns:
            ``(can_afford, expected_cost, reason, new_ref)``; ``new_ref`` is
            ``ref`` itself, with no ``ray.put``, when nothing changed (a refusal,
            a retried id).

        Raises:
            InvalidArgumentError: ``ref`` is not an ObjectRef.
            BudgetError: a bad name, config or reservation id.
            StateUnavailable: the budget cannot be fetched.
        """
        store = cache_or_default(cache)
        check_ref(ref)
        state = _read(ref, BudgetState, store)
        decision, new = reserve(state, agent_name, agent_config, reservation_id)
        new_ref = ref if new is state else _put(new, store)
        return decision.can_afford, decision.expected_cost, decision.reason, new_ref

    @staticmethod
    def release_reservation(
        ref: Any, agent_name: str, amount: Any, *, cache: StateCache | None = None
    ) -> Any:
        """Give back part of an agent's reservation (e.g. a job that failed to start).

        Returns:
            The new ref; ``ref`` itself when nothing changed.

        Raises:
            InvalidArgumentError: ``ref`` is not an ObjectRef.
            BudgetError: an unknown agent or a bad amount.
            StateUnavailable: the budget cannot be fetched.
        """
        store = cache_or_default(cache)
        check_ref(ref)
        state = _read(ref, BudgetState, store)
        new = release_reservation(state, agent_name, amount)
        return ref if new is state else _put(new, store)

    @staticmethod
    def batch_record_costs(
        ref: Any,
        cost_records: Iterable[Mapping[str, Any]],
        *,
        cache: StateCache | None = None,
        clock: Callable[[], float] | None = None,
    ) -> Any:
        """Record paid jobs atomically with at most one ``ray.get`` and one ``ray.put``.

        Args:
            ref: ObjectRef of the budget.
            cost_records: ``{"agent_name", "expected", "actual", "job_id",
                optional "at"}`` mappings; a missing ``at`` is stamped now.

        Returns:
            The new ref; ``ref`` itself, with no Ray call, for an empty batch, and
            with no ``ray.put`` when every record was already recorded.

        Raises:
            InvalidArgumentError: ``ref`` is not an ObjectRef.
            BudgetError: a malformed record (checked before any Ray call) or a
                conflicting duplicate; nothing is put.
            StateUnavailable: the budget cannot be fetched.
        """
        store, stamp = cache_or_default(cache), clock_or_now(clock)
        check_ref(ref)
        records = _stamped_records(cost_records, stamp())
        if not records:
            return ref
        state = _read(ref, BudgetState, store)
        new = record_costs(state, records)
        return ref if new is state else _put(new, store)

    @staticmethod
    def _compute_budget_summary(state: BudgetState) -> Mapping[str, Any]:
        """Return the core's budget summary, frozen because cached summaries are shared.

        Raises:
            InvalidArgumentError: ``state`` is not a `BudgetState`.
        """
        _check_state(state, BudgetState)
        return freeze(summarize_budget(state))  # type: ignore[no-any-return]

    @staticmethod
    def get_budget_summary(ref: Any, *, cache: StateCache | None = None) -> Mapping[str, Any]:
        """Return the budget's summary (always cached), read-only.

        Raises:
            InvalidArgumentError: ``ref`` is not an ObjectRef.
            StateUnavailable: the budget cannot be fetched.
        """
        return cache_or_default(cache).get(ref, BudgetManager._compute_budget_summary)  # type: ignore[no-any-return]

    @staticmethod
    def get_budget_state(ref: Any, *, cache: StateCache | None = None) -> BudgetState:
        """Return the budget's core state (cached by ref), for `BudgetCalculator`.

        Raises:
            InvalidArgumentError: ``ref`` is not an ObjectRef.
            StateUnavailable: the budget cannot be fetched.
        """
        return _read(ref, BudgetState, cache_or_default(cache))  # type: ignore[no-any-return]
