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
from collections.abc import Iterable, Mapping
from typing import Any

import ray

from core.budget.reducers import BudgetState, ReservationDecision
from core.jobs.job import JobExecution
from core.jobs.reducers import TaskUpdates
from core.jobs.task import TaskRecord
from shell import _store_requests as requests
from shell import _wait_requests as waits
from shell._store_requests import StoreRequest
from shell.errors import (
    DuplicateJobError,
    StateUnavailable,
    StoreExistsError,
    UnknownJobError,
)
from shell.ray_ops import ray_get, translate_ray_error

__all__ = [
    "DuplicateJobError",
    "StateStore",
    "StoreExistsError",
    "UnknownJobError",
]


# Longest a shutdown waits for the killed actor to stop answering.
_SHUTDOWN_WAIT = 10.0


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
        plan = requests.create_plan(
            budget_config, agents_config, name, namespace, detached, timeout
        )
        actor = requests.start_actor(plan)
        store = cls(actor, plan.name, plan.namespace, plan.timeout)
        # Wait for the constructor, so a failure to start surfaces here.
        store._send(requests.ping())
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
        connection = requests.connect_plan(name, namespace, timeout)
        actor = requests.lookup_actor(connection)
        store = cls(actor, connection.name, connection.namespace, connection.timeout)
        try:
            answer = store._send(requests.ping())
        except AttributeError as err:
            answer = err
        requests.check_store_answer(answer, connection)
        return store

    def shutdown(self) -> None:
        """Kill the store actor; its state is lost and every later call raises `StateUnavailable`.

        Every handle on the store, in any process, loses it. Calling it twice is harmless.
        """
        if self._closed:
            return
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
            return f"store {self._name!r} (namespace {self._namespace!r})"
        actor_id = getattr(self._actor, "_actor_id", None)  # Ray has no public accessor
        return f"unnamed store {actor_id.hex() if actor_id is not None else '?'}"

    def _send(self, request: StoreRequest) -> Any:
        """Send one request to the actor and wait for its reply, with the library's errors.

        Raises:
            StateUnavailable: the handle was shut down, or the store cannot be reached.
            StateError: the store refused the request.
        """
        if self._closed:
            raise requests.closed_error(self._describe())
        try:
            ref = waits.submit(self._actor, request)
            return ray_get(ref, timeout=waits.reply_timeout(request, self._timeout))
        except Exception as err:
            requests.raise_send_error(request, err, self._describe())

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
        result: str = self._send(requests.create_job(description, job_id))
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
        version: int = self._send(requests.add_tasks(job_id, tasks))
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
        version: int = self._send(requests.update_tasks(job_id, updates))
        return version

    def job_summary(self, job_id: str) -> dict[str, Any]:
        """Return the job's summary (`core.jobs.summary.summarize_job`); O(1) in its size.

        Raises:
            InvalidArgumentError: bad ``job_id``.
            UnknownJobError: no such job.
            StateUnavailable: the store is gone.
        """
        summary: dict[str, Any] = self._send(requests.job_summary(job_id))
        return summary

    def job_state(self, job_id: str) -> JobExecution:
        """Return the job's full immutable state (ships every task: prefer `job_summary`).

        Raises:
            InvalidArgumentError: bad ``job_id``.
            UnknownJobError: no such job.
            StateUnavailable: the store is gone.
        """
        job: JobExecution = self._send(requests.job_state(job_id))
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
        version, summary = self._send(requests.poll_job(job_id, since_version))
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
        decision: ReservationDecision = self._send(
            requests.reserve(agent_name, agent_config, reservation_id)
        )
        return decision

    def release(self, agent_name: str, amount: Any) -> None:
        """Give back part of an agent's reservation (never below zero).

        Raises:
            InvalidArgumentError: bad ``agent_name``.
            BudgetError: a bad amount, or an agent the store does not know.
            StateUnavailable: the store is gone.
        """
        self._send(requests.release(agent_name, amount))

    def record_costs(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Record paid jobs in one actor call, all or none, idempotently by ``job_id``.

        Args:
            records: ``{"agent_name", "expected", "actual", "job_id", optional "at"}`` each.

        Raises:
            InvalidArgumentError: ``records`` is not an iterable of mappings.
            BudgetError: a bad or conflicting record, naming its index; nothing changes.
            StateUnavailable: the store is gone.
        """
        request = requests.record_costs(records)
        if request is not None:
            self._send(request)

    def list_jobs(self) -> dict[str, int]:
        """Return every job id of the store with its version, in creation order; O(jobs).

        Raises:
            StateUnavailable: the store is gone.
        """
        versions: dict[str, int] = self._send(requests.list_jobs())
        return versions

    def budget_summary(self) -> dict[str, Any]:
        """Return `core.budget.summary.summarize_budget` of the store's budget.

        Raises:
            StateUnavailable: the store is gone.
        """
        summary: dict[str, Any] = self._send(requests.budget_summary())
        return summary

    def budget_state(self) -> BudgetState:
        """Return the store's immutable budget state (what `BudgetCalculator` takes).

        Raises:
            StateUnavailable: the store is gone.
        """
        state: BudgetState = self._send(requests.budget_state())
        return state

    def wait_job(
        self, job_id: str, since_version: int | None, timeout: float
    ) -> tuple[int, dict[str, Any] | None]:
        """Like `poll_job`, but wait up to ``timeout`` seconds for the job to change.

        The wait runs in the actor's waiting group: it holds up no writer, and
        it is woken by the write that changes the job (no polling).

        Returns:
            ``(version, summary)`` as soon as the version differs from
            ``since_version`` (at once if it already does); ``(since_version, None)``
            when ``timeout`` expires first.

        Raises:
            InvalidArgumentError: bad ``job_id``, ``since_version`` or ``timeout``.
            UnknownJobError: no such job.
            StateUnavailable: the store is gone.
        """
        version, summary = self._send(waits.wait_job(job_id, since_version, timeout))
        return version, summary

    def wait_budget(
        self, since_version: int | None, timeout: float
    ) -> tuple[int, dict[str, Any] | None]:
        """Wait up to ``timeout`` seconds for the budget to change from ``since_version``.

        The budget's version is 1 at start and goes up by one per change;
        ``since_version=None`` returns the current version and summary at once.

        Returns:
            ``(version, summary)`` (`budget_summary`'s) as soon as the version
            differs; ``(since_version, None)`` when ``timeout`` expires first.

        Raises:
            InvalidArgumentError: bad ``since_version`` or ``timeout``.
            StateUnavailable: the store is gone.
        """
        version, summary = self._send(waits.wait_budget(since_version, timeout))
        return version, summary
