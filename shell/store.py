"""`StateStore`: one Ray actor owns the jobs and the budget, so concurrent writers lose nothing.

With several writers, read-modify-put on ObjectRefs loses updates and lets
two reservers spend the same money. A `StateStore` is a picklable handle on
one actor (`shell.store_actor.StoreCore`) that applies the core's commands
one at a time (`core.ledger.apply_command`). Like ``ray.util.queue.Queue``,
the handle validates arguments before any remote call, turns Ray's errors
into the library's (an error raised in the actor arrives as its own type; a
store that is gone raises `StateUnavailable`) and has an explicit `shutdown`.

Every change carries a ``command_id`` (fresh unless the caller gives one):
the store applies an id at most once and answers a resend with the first
reply, so a call that timed out (`OutcomeUnknown`) is safely sent again.
With a ``journal`` the store is write-ahead and durable: Ray restarts its
actor, which recovers every acknowledged command, and `StateStore.recover`
starts it again after the whole cluster stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from core.budget.reducers import BudgetState, ReservationDecision
from core.jobs.job import JobExecution
from core.jobs.reducers import TaskUpdates
from core.jobs.task import TaskRecord
from shell import _store_lifecycle as lifecycle
from shell import _store_requests as requests
from shell import _wait_requests as waits
from shell._store_handle import StoreHandle
from shell._store_requests import StoreRequest
from shell.errors import (
    DuplicateJobError,
    OutcomeUnknown,
    StoreExistsError,
    UnknownJobError,
)
from shell.ray_ops import ray_get, require_ray

__all__ = [
    "DuplicateJobError",
    "OutcomeUnknown",
    "StateStore",
    "StoreExistsError",
    "UnknownJobError",
]


class StateStore(StoreHandle["StateStore"]):
    """A picklable handle on the actor that owns a set of jobs and one budget.

    Make one with `create`, `connect` or `recover` (written once for both
    twins in `shell._store_handle.StoreHandle`), not directly. Every method
    is one actor call (a round trip, see docs/performance.md); batch updates
    (`update_tasks` takes a list, `shell.StateBatcher` flushes into a store)
    rather than calling per update. Every method that changes the store takes
    an optional ``command_id`` and, on a timeout, raises `OutcomeUnknown`
    carrying it: call again with it to apply the change at most once.
    """

    @classmethod
    def _start(cls, make_plan: Callable[[], lifecycle.StorePlan]) -> StateStore:
        """Start the plan's actor and wait for it; a failed start leaves no actor behind."""
        plan = make_plan()
        actor = lifecycle.start_actor(plan)
        store = cls(actor, plan.name, plan.namespace, plan.timeout)
        try:
            store._send(requests.ping())
        except BaseException:
            lifecycle.discard_actor(actor)
            raise
        return store

    @classmethod
    def _connect(cls, make_connection: Callable[[], lifecycle.StoreConnection]) -> StateStore:
        """Find the named actor and ask it, once, whether it is a store."""
        connection = make_connection()
        actor = lifecycle.lookup_actor(connection)
        store = cls(actor, connection.name, connection.namespace, connection.timeout)
        try:
            answer = store._send(requests.ping())
        except Exception as err:
            answer = err
        lifecycle.check_store_answer(answer, connection)
        return store

    def shutdown(self) -> None:
        """Kill the store actor; every later call raises `StateUnavailable`.

        Every handle on the store, in any process, loses it. A journaled store's
        journal stays: `recover` starts it again. Calling it twice is harmless.
        """
        if self._closed:
            return
        require_ray(self._describe())
        self._closed = True
        lifecycle.discard_actor(self._actor)

    def _send(self, request: StoreRequest) -> Any:
        """Send one request to the actor and wait for its reply, with the library's errors.

        Raises:
            OutcomeUnknown: a change timed out (resend it with its ``command_id``).
            StateUnavailable: the handle was shut down, or the store cannot be reached.
            StateError: the store refused the request.
        """
        if self._closed:
            raise requests.closed_error(self._describe())
        require_ray(self._describe())
        try:
            ref = waits.submit(self._actor, request)
            return ray_get(ref, timeout=waits.reply_timeout(request, self._timeout))
        except Exception as err:
            requests.raise_send_error(request, err, self._describe())

    def create_job(
        self, description: str, job_id: str | None = None, command_id: str | None = None
    ) -> str:
        """Create an empty job in the store.

        Args:
            description: The audience description.
            job_id: Its id; None takes the command id (32 fresh hex digits).
            command_id: Idempotency key of this change; fresh when None.

        Returns:
            The job id.

        Raises:
            InvalidArgumentError: ``job_id`` is not a non-empty str, or
                ``description`` is not a str.
            DuplicateJobError: the store already holds ``job_id``.
            OutcomeUnknown, StateUnavailable: see the class.
        """
        result: str = self._send(requests.create_job(description, job_id, command_id))
        return result

    def add_tasks(
        self,
        job_id: str,
        tasks: Iterable[TaskRecord | Mapping[str, Any]],
        command_id: str | None = None,
    ) -> int:
        """Append tasks to a job, all or none; return the job's version after the call.

        Args:
            job_id: The job.
            tasks: `TaskRecord`s or ``{"task_id", "agent_name", "input_data", "round"}``.
            command_id: Idempotency key of this change; fresh when None.

        Raises:
            InvalidArgumentError: ``job_id`` or ``tasks`` has the wrong type.
            InvalidTaskError: a bad task, naming its index; nothing is sent.
            UnjournalableValueError: task data a journal could not record exactly.
            UnknownJobError: no such open job.
            DuplicateTaskError: from the actor, naming its index; nothing changes.
            OutcomeUnknown, StateUnavailable: see the class.
        """
        version: int = self._send(requests.add_tasks(job_id, tasks, command_id))
        return version

    def update_tasks(self, job_id: str, updates: TaskUpdates, command_id: str | None = None) -> int:
        """Apply a batch of task updates in one actor call, in order, all or none.

        Updates are validated here first; those without ``at`` take this
        process's ``time.time()``, when the status was observed.

        Args:
            job_id: The job.
            updates: ``{"task_id", "status", optional "result", "error", "at"}`` mappings,
                `TaskUpdate`s, or an `UpdateColumns`.
            command_id: Idempotency key of this change; fresh when None.

        Returns:
            The job's version after the call (unchanged when every update was a no-op).

        Raises:
            InvalidArgumentError: ``job_id`` or ``updates`` has the wrong type.
            InvalidUpdateError: a malformed update, naming its index; nothing is sent.
            UnknownJobError: no such open job.
            UnknownTaskError, InvalidTransitionError: from the actor, naming the
                update's index; nothing changes.
            OutcomeUnknown, StateUnavailable: see the class.
        """
        version: int = self._send(requests.update_tasks(job_id, updates, command_id))
        return version

    def close_job(self, job_id: str, command_id: str | None = None) -> None:
        """Take a job out of the store's memory; its final summary and version stay readable.

        Later changes to it raise `UnknownJobError`; a journal keeps all of it.

        Raises:
            InvalidArgumentError: bad ``job_id``.
            UnknownJobError: no such open job.
            OutcomeUnknown, StateUnavailable: see the class.
        """
        self._send(requests.close_job(job_id, command_id))

    def job_summary(self, job_id: str) -> dict[str, Any]:
        """Return the job's summary (`core.jobs.summary.summarize_job`); O(1) in its size.

        A closed job returns its final summary.

        Raises:
            InvalidArgumentError: bad ``job_id``.
            UnknownJobError: no such job.
            StateUnavailable: the store is gone.
        """
        summary: dict[str, Any] = self._send(requests.job_summary(job_id))
        return summary

    def job_state(self, job_id: str) -> JobExecution:
        """Return an open job's full immutable state (ships every task: prefer `job_summary`).

        Raises:
            InvalidArgumentError: bad ``job_id``.
            UnknownJobError: no such open job.
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
        command_id: str | None = None,
    ) -> ReservationDecision:
        """Check the budget and reserve one job's expected cost, in one indivisible step.

        Args:
            agent_name: The agent about to run a job.
            agent_config: Its config block, used only when the store does not know it yet.
            reservation_id: Idempotency key of the reservation: a retry with it
                returns the first grant and reserves nothing more; `release` takes it.
            command_id: Idempotency key of this change; fresh when None.

        Returns:
            ``ReservationDecision(can_afford, expected_cost, reason)``, a tuple.

        Raises:
            InvalidArgumentError: a bad ``agent_name``, ``agent_config`` or ``reservation_id``.
            BudgetError: refused by the core (e.g. an id reused for another agent).
            OutcomeUnknown, StateUnavailable: see the class.
        """
        request = requests.reserve(agent_name, agent_config, reservation_id, command_id)
        decision: ReservationDecision = self._send(request)
        return decision

    def release(
        self,
        agent_name: str,
        amount: Any,
        reservation_id: str | None = None,
        command_id: str | None = None,
    ) -> None:
        """Give back part of an agent's reservation (never below zero).

        Args:
            agent_name: The agent.
            amount: How much to give back.
            reservation_id: The granted reservation this gives back: then at most
                its expected cost, and only once however often it is called.
            command_id: Idempotency key of this change; fresh when None.

        Raises:
            InvalidArgumentError: bad ``agent_name`` or ``reservation_id``.
            BudgetError: a bad amount, an unknown agent, or a reservation id
                never granted to this agent.
            OutcomeUnknown, StateUnavailable: see the class.
        """
        self._send(requests.release(agent_name, amount, reservation_id, command_id))

    def record_costs(
        self, records: Iterable[Mapping[str, Any]], command_id: str | None = None
    ) -> None:
        """Record paid jobs in one actor call, all or none, idempotently by ``job_id``.

        Args:
            records: ``{"agent_name", "expected", "actual", "job_id", optional "at"}`` each.
            command_id: Idempotency key of this change; fresh when None.

        Raises:
            InvalidArgumentError: ``records`` is not an iterable of mappings.
            BudgetError: a bad or conflicting record, naming its index; nothing changes.
            OutcomeUnknown, StateUnavailable: see the class.
        """
        request = requests.record_costs(records, command_id)
        if request is not None:
            self._send(request)

    def list_jobs(self) -> dict[str, int]:
        """Return every job id with its version, closed ones too, sorted by id; O(jobs log jobs).

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

    def info(self) -> dict[str, Any]:
        """Return the store's bookkeeping.

        Returns:
            ``{"applied", "open_jobs", "closed_jobs", "budget_version", "journal",
            "recoveries", "commits", "snapshots", "pid"}``: commands applied since
            creation, jobs in memory and closed, the budget's version, the journal
            (password hidden) or None, how often this actor process rebuilt its
            state from the journal, the journal transactions it committed (fewer
            than its commands when writers' commands shared a commit), the
            snapshots it wrote (in the background, after every ``snapshot_every``
            commands), its process id.

        Raises:
            StateUnavailable: the store is gone.
        """
        info: dict[str, Any] = self._send(requests.store_info())
        return info

    def wait_job(
        self, job_id: str, since_version: int | None, timeout: float
    ) -> tuple[int, dict[str, Any] | None]:
        """Like `poll_job`, but wait up to ``timeout`` seconds for the job to change.

        The wait runs in the actor's waiting group: it holds up no writer, and
        it is woken by the write that changes the job (no polling).

        Returns:
            ``(version, summary)`` as soon as the version differs from
            ``since_version`` (at once if it already does); ``(since_version, None)``
            when ``timeout`` expires first. A closed job answers with its final summary.

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
