"""`StateStore`: one Ray actor owns the jobs and the budget, so concurrent writers lose nothing.

With several writers, read-modify-put on ObjectRefs loses updates and lets
two reservers spend the same money. A `StateStore` is a picklable handle on
one actor (`shell.store_actor.StoreCore`) that applies the core's reducers one
call at a time. Like ``ray.util.queue.Queue``, the handle validates arguments
before any remote call, turns Ray's errors into the library's (an error raised
in the actor arrives as its own type; a store that is gone raises
`StateUnavailable`) and has an explicit `StateStore.shutdown`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import ray

from core.batch_args import plain_mapping
from core.budget.money import to_money
from core.budget.reducers import BudgetState, ReservationDecision, new_budget
from core.budget.types import check_iterable
from core.errors import StateError, describe
from core.jobs.job import JobExecution
from core.jobs.reducers import TaskUpdates
from core.jobs.task import TaskRecord, iter_task_records
from shell.errors import (
    DuplicateJobError,
    InvalidArgumentError,
    StateUnavailable,
    StoreExistsError,
    UnknownJobError,
)
from shell.inputs import as_batch, check_seconds, stamp_task_updates
from shell.ray_ops import ray_get, require_ray, translate_ray_error
from shell.store_actor import PROTOCOL, StoreCore

__all__ = [
    "DuplicateJobError",
    "StateStore",
    "StoreExistsError",
    "UnknownJobError",
]


# max_restarts=0 on purpose: a restarted actor rebuilds from its constructor,
# i.e. an empty budget, and would silently grant spend already reserved. A
# dead store must be loud (StateUnavailable), not quietly reset.
# num_cpus=0: the store is a coordinator; it must not take a CPU slot the
# agent tasks it serves need (on a 2-CPU node it would halve them).
# max_concurrency=1 (a sync actor's default, stated for the reader): calls run one at a time.
_ACTOR_OPTIONS: dict[str, Any] = {"num_cpus": 0, "max_restarts": 0, "max_concurrency": 1}
_RemoteStore: Any = ray.remote(StoreCore)
# Longest a shutdown waits for the killed actor to stop answering.
_SHUTDOWN_WAIT = 10.0


def _check_name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(
            f"{field} must be a non-empty str, got {describe(value)}", field=field, value=value
        )
    return value


class StateStore:
    """A picklable handle on the actor that owns a set of jobs and one budget.

    Make one with `StateStore.create` or `StateStore.connect`, not directly.
    Every method is one actor call (~1.2 ms round trip locally); batch
    updates (`update_tasks` takes a list, `shell.StateBatcher` flushes into
    a store) rather than calling per update.
    """

    def __init__(
        self, actor: Any, name: str | None, namespace: str | None, timeout: float | None
    ) -> None:
        self._actor = actor
        self._name = name
        self._namespace = namespace
        self._timeout = timeout
        self._closed = False

    @classmethod
    def create(
        cls,
        budget_config: Mapping[str, Any] | None,
        agents_config: Iterable[Mapping[str, Any]],
        name: str | None = None,
        namespace: str | None = None,
        detached: bool = False,
        timeout: float | None = None,
    ) -> StateStore:
        """Start a store actor and return a handle on it.

        The configs are validated here with the core first, so a bad config
        raises at once and no actor is started.

        Args:
            budget_config: ``{"total_budget": X}`` or None (unlimited).
            agents_config: Agent blocks ``{"name", "price", "max_total_spend"}``.
            name: Register the actor under this name, for `connect`.
            namespace: Ray namespace of the name; None is the job's own.
            detached: Keep the actor alive after this driver exits (needs ``name``);
                it then lives until `shutdown` or the cluster stops.
            timeout: Seconds each call may wait for the actor; None waits for ever.

        Raises:
            BudgetError: a config is invalid.
            InvalidArgumentError: ``name``, ``namespace``, ``detached`` or ``timeout`` is invalid.
            StoreExistsError: ``name`` is already taken in ``namespace``.
            StateUnavailable: Ray could not start the actor.
        """
        agents = check_iterable(agents_config, "agents_config")
        new_budget(budget_config, agents)
        name = None if name is None else _check_name(name, "name")
        namespace = None if namespace is None else _check_name(namespace, "namespace")
        if not isinstance(detached, bool):
            raise InvalidArgumentError(
                f"detached must be a bool, got {describe(detached)}",
                field="detached",
                value=detached,
            )
        if detached and name is None:
            # An unnamed detached actor could never be reached or shut down again.
            raise InvalidArgumentError(
                "a detached store needs a name, got name=None", field="name", value=None
            )
        timeout = check_seconds(timeout, "timeout", none_ok=True)
        require_ray(f"StateStore.create(name={describe(name)})")
        options = dict(_ACTOR_OPTIONS)
        if name is not None:
            options["name"] = name
            options["namespace"] = namespace
        if detached:
            options["lifetime"] = "detached"
        try:
            actor = _RemoteStore.options(**options).remote(budget_config, agents)
        except ValueError as err:
            if name is not None and "already taken" in str(err):
                raise StoreExistsError(
                    f"a Ray actor named {describe(name)} already exists "
                    f"in namespace {describe(namespace)}",
                    field="name",
                    value=name,
                ) from err
            raise
        store = cls(actor, name, namespace, timeout)
        # Wait for the constructor, so a failure to start surfaces here.
        store._call("ping")
        return store

    @classmethod
    def connect(
        cls, name: str, namespace: str | None = None, timeout: float | None = None
    ) -> StateStore:
        """Return a handle on a running named store.

        Args:
            name: The name it was created with.
            namespace: Its Ray namespace; None is this job's own.
            timeout: Seconds each call may wait for the actor; None waits for ever.

        Raises:
            InvalidArgumentError: ``name``, ``namespace`` or ``timeout`` is invalid.
            StateUnavailable: no live actor has that name, or it is not a store.
        """
        name = _check_name(name, "name")
        namespace = None if namespace is None else _check_name(namespace, "namespace")
        timeout = check_seconds(timeout, "timeout", none_ok=True)
        require_ray(f"StateStore {describe(name)}")
        try:
            actor = ray.get_actor(name, namespace=namespace)
        except ValueError as err:
            raise StateUnavailable(
                f"no StateStore named {describe(name)} in namespace {describe(namespace)}: {err}",
                field="name",
                value=name,
            ) from err
        store = cls(actor, name, namespace, timeout)
        try:
            answer = store._call("ping")
        except AttributeError as err:
            answer = err
        if answer != PROTOCOL:
            raise StateUnavailable(
                f"the actor named {describe(name)} in namespace {describe(namespace)} "
                "is not a StateStore",
                field="name",
                value=name,
            )
        return store

    def shutdown(self) -> None:
        """Kill the store actor; its state is lost and every later call raises `StateUnavailable`.

        Every handle on the store, in any process, loses it. Calling it twice is harmless.
        """
        if self._closed:
            return
        require_ray(self._describe())
        self._closed = True
        try:
            ray.kill(self._actor, no_restart=True)
        except Exception as err:
            translated = translate_ray_error(err, self._describe())
            if not isinstance(translated, StateUnavailable):
                raise translated from err
            return
        self._wait_until_dead()

    def _wait_until_dead(self) -> None:
        """Return once the actor answers no more (or after `_SHUTDOWN_WAIT` seconds).

        ``ray.kill`` only sends the kill: a call another handle makes right
        after it could still be served. Waiting here makes "every later call
        raises StateUnavailable" true from the moment `shutdown` returns.
        """
        deadline = time.monotonic() + _SHUTDOWN_WAIT
        while time.monotonic() < deadline:
            try:
                ray.get(self._actor.ping.remote(), timeout=_SHUTDOWN_WAIT)
            except ray.exceptions.RayActorError:
                return
            except ray.exceptions.GetTimeoutError:
                continue
            time.sleep(0.01)

    def __repr__(self) -> str:
        return f"StateStore({self._describe()}{', shut down' if self._closed else ''})"

    def _describe(self) -> str:
        if self._name is not None:
            return f"store {describe(self._name)} (namespace {describe(self._namespace)})"
        actor_id = getattr(self._actor, "_actor_id", None)  # Ray has no public accessor
        return f"unnamed store {actor_id.hex() if actor_id is not None else '?'}"

    def _call(self, method: str, *args: Any) -> Any:
        """Call an actor method and wait for it, translating Ray's errors into ours."""
        if self._closed:
            raise StateUnavailable(
                f"{self._describe()} was shut down", field="store", value=self._describe()
            )
        require_ray(self._describe())
        try:
            ref = getattr(self._actor, method).remote(*args)
            return ray_get(ref, timeout=self._timeout)
        except StateUnavailable as err:
            raise StateUnavailable(
                f"{self._describe()} is unavailable: {err}", field="store", value=self._describe()
            ) from err
        except StateError:
            raise
        except Exception as err:
            translated = translate_ray_error(err, self._describe())
            if translated is err:  # not Ray's: the arguments could not be serialised
                translated = InvalidArgumentError(
                    f"the arguments of {method} could not be sent to {self._describe()}: "
                    f"{describe(err)}",
                    field=method,
                    value=args,
                )
            raise translated from err

    def create_job(self, description: str, job_id: str | None = None) -> str:
        """Create an empty job in the store.

        Args:
            description: The audience description.
            job_id: Its id; a fresh uuid when None.

        Returns:
            The job id.

        Raises:
            InvalidArgumentError: ``job_id`` is not a non-empty str, or
                ``description`` is not a str.
            DuplicateJobError: the store already holds ``job_id`` (a retried create
                after a lost reply sees this: the job exists, carry on with it).
            StateUnavailable: the store is gone.
        """
        job_id = uuid.uuid4().hex if job_id is None else _check_name(job_id, "job_id")
        if not isinstance(description, str):
            raise InvalidArgumentError(
                f"description must be a str, got {describe(description)}",
                field="description",
                value=description,
            )
        result: str = self._call("create_job", job_id, description, time.time())
        return result

    def add_tasks(self, job_id: str, tasks: Iterable[TaskRecord | Mapping[str, Any]]) -> int:
        """Append tasks to a job, all or none.

        Args:
            job_id: The job.
            tasks: `TaskRecord`s or ``{"task_id", "agent_name", "input_data", "round"}``.

        Returns:
            The job's version after the call.

        Raises:
            InvalidArgumentError: ``job_id`` or ``tasks`` has the wrong type.
            UnknownJobError: no such job.
            DuplicateTaskError, InvalidTaskError: a bad task, naming its index; nothing changes.
            StateUnavailable: the store is gone.
        """
        _check_name(job_id, "job_id")
        # Parsed here, before any remote call; the actor checks the records again.
        records = list(iter_task_records(as_batch(tasks, "tasks")))
        version: int = self._call("add_tasks", job_id, records)
        return version

    def update_tasks(self, job_id: str, updates: TaskUpdates) -> int:
        """Apply a batch of task updates in one actor call, in order, all or none.

        Updates are validated here first, and those without ``at`` are stamped
        with this process's ``time.time()``, when the status was observed. The
        batch travels as `core.jobs.reducers.UpdateColumns`, and the actor checks it again.

        Args:
            job_id: The job.
            updates: ``{"task_id", "status", optional "result", "error", "at"}`` mappings,
                `TaskUpdate`s, or an `UpdateColumns`.

        Returns:
            The job's version after the call (unchanged when every update was a no-op).

        Raises:
            InvalidArgumentError: ``job_id`` or ``updates`` has the wrong type.
            InvalidUpdateError: a malformed update, naming its index; nothing is sent.
            UnknownJobError: no such job.
            UnknownTaskError, InvalidTransitionError: from the actor, naming the
                update's index; nothing changes.
            StateUnavailable: the store is gone.
        """
        _check_name(job_id, "job_id")
        batch = stamp_task_updates(updates, time.time())
        version: int = self._call("update_tasks", job_id, batch)
        return version

    def job_summary(self, job_id: str) -> dict[str, Any]:
        """Return the job's summary (`core.jobs.summary.summarize_job`); O(1) in its size.

        Raises:
            InvalidArgumentError: bad ``job_id``.
            UnknownJobError: no such job.
            StateUnavailable: the store is gone.
        """
        summary: dict[str, Any] = self._call("job_summary", _check_name(job_id, "job_id"))
        return summary

    def job_state(self, job_id: str) -> JobExecution:
        """Return the job's full immutable state (ships every task: prefer `job_summary`).

        Raises:
            InvalidArgumentError: bad ``job_id``.
            UnknownJobError: no such job.
            StateUnavailable: the store is gone.
        """
        job: JobExecution = self._call("job_state", _check_name(job_id, "job_id"))
        return job

    def poll_job(
        self, job_id: str, since_version: int | None = None
    ) -> tuple[int, dict[str, Any] | None]:
        """Return the job's version and its summary, or None when nothing changed.

        Args:
            job_id: The job.
            since_version: The version the caller last saw (versions start at 1),
                or None to always get the summary.

        Returns:
            ``(version, summary)``; ``summary`` is None when ``version == since_version``,
            so a poller moves no data while the job is unchanged.

        Raises:
            InvalidArgumentError: bad ``job_id`` or ``since_version``.
            UnknownJobError: no such job.
            StateUnavailable: the store is gone.
        """
        _check_name(job_id, "job_id")
        if since_version is not None and (
            isinstance(since_version, bool) or not isinstance(since_version, int)
        ):
            raise InvalidArgumentError(
                f"since_version must be an int or None, got {describe(since_version)}",
                field="since_version",
                value=since_version,
            )
        version, summary = self._call("poll_job", job_id, since_version)
        return version, summary

    def reserve(
        self,
        agent_name: str,
        agent_config: Mapping[str, Any] | None = None,
        reservation_id: str | None = None,
    ) -> ReservationDecision:
        """Check the budget and reserve one job's expected cost, in one indivisible step.

        Args:
            agent_name: The agent about to run a job.
            agent_config: Its config block, used only when the store does not know it yet.
            reservation_id: Idempotency key: a retry with it returns the first
                grant and reserves nothing more.

        Returns:
            ``ReservationDecision(can_afford, expected_cost, reason)``, a tuple.

        Raises:
            InvalidArgumentError: a bad ``agent_name``, ``agent_config`` or ``reservation_id``.
            BudgetError: refused by the core (e.g. an id reused for another agent).
            StateUnavailable: the store is gone.
        """
        _check_name(agent_name, "agent_name")
        if reservation_id is not None:
            _check_name(reservation_id, "reservation_id")
        if agent_config is not None and not isinstance(agent_config, Mapping):
            raise InvalidArgumentError(
                f"agent_config must be a mapping or None, got {describe(agent_config)}",
                field="agent_config",
                value=agent_config,
            )
        decision: ReservationDecision = self._call(
            "reserve",
            agent_name,
            None
            if agent_config is None
            else plain_mapping(agent_config, "agent_config", InvalidArgumentError),
            reservation_id,
        )
        return decision

    def release(self, agent_name: str, amount: Any) -> None:
        """Give back part of an agent's reservation (never below zero).

        Raises:
            InvalidArgumentError: bad ``agent_name``.
            BudgetError: a bad amount, or an agent the store does not know.
            StateUnavailable: the store is gone.
        """
        _check_name(agent_name, "agent_name")
        to_money(amount, "amount")
        self._call("release", agent_name, amount)

    def record_costs(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Record paid jobs in one actor call, all or none, idempotently by ``job_id``.

        Args:
            records: ``{"agent_name", "expected", "actual", "job_id", optional "at"}`` each.

        Raises:
            InvalidArgumentError: ``records`` is not an iterable of mappings.
            BudgetError: a bad or conflicting record, naming its index; nothing changes.
            StateUnavailable: the store is gone.
        """
        batch = as_batch(records, "records", mappings=True)
        if batch:
            records = [
                plain_mapping(r, f"records[{i}]", InvalidArgumentError) for i, r in enumerate(batch)
            ]
            self._call("record_costs", records)

    def budget_summary(self) -> dict[str, Any]:
        """Return `core.budget.summary.summarize_budget` of the store's budget.

        Raises:
            StateUnavailable: the store is gone.
        """
        summary: dict[str, Any] = self._call("budget_summary")
        return summary

    def budget_state(self) -> BudgetState:
        """Return the store's immutable budget state (what `BudgetCalculator` takes).

        Raises:
            StateUnavailable: the store is gone.
        """
        state: BudgetState = self._call("budget_state")
        return state
