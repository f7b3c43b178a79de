"""`AsyncStateStore`: the `shell.store.StateStore` handle for asyncio drivers.

Same names, arguments, results and errors as `StateStore`: every method
validates and builds its request with the very functions the sync handle
uses (`shell._store_requests`, `shell._wait_requests`); only the sending
differs. Nothing here calls ``ray.get``: replies are awaited, so the event
loop keeps running during every round trip. Concurrent calls made in one turn
of the loop travel as one actor call (`shell.aio._sender.Coalescer`), each
still applied atomically on its own.

Timeouts are asyncio's. A call cancelled before its request left (the next
loop turn) is never sent; one cancelled later was applied whole or not at
all, since the actor applies each request in one step.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping
from types import TracebackType
from typing import Any

import ray

from core.budget.reducers import BudgetState, ReservationDecision
from core.jobs.job import JobExecution
from core.jobs.reducers import TaskUpdates
from core.jobs.task import TaskRecord
from shell import _store_lifecycle as lifecycle
from shell import _store_requests as requests
from shell import _wait_requests as waits
from shell._store_handle import StoreHandle
from shell._store_requests import StoreRequest
from shell.aio._sender import Coalescer
from shell.aio._watch import watch_budget, watch_job
from shell.inputs import check_seconds
from shell.ray_ops import require_ray

__all__ = ["WATCH_WAIT", "AsyncStateStore"]

# Longest a shutdown waits for the killed actor to stop answering.
_KILL_WAIT = 10.0
#: Seconds one waiting call of a watcher lasts before it asks again: an idle
#: watched job costs 60 / WATCH_WAIT remote calls a minute, and no data.
WATCH_WAIT = 15.0


async def _discard(actor: Any) -> None:
    """Kill an actor for good and return once it answers no more; never raises.

    `shell._store_lifecycle.discard_actor` awaited instead of waited on:
    ``ray.kill`` only sends the kill, and a call made right after could still be served.
    """
    try:
        ray.kill(actor, no_restart=True)
    except Exception:
        return  # already gone, or Ray is down
    deadline = time.monotonic() + _KILL_WAIT
    while time.monotonic() < deadline:
        try:
            # No retries: a killed journaled store would be asked again and again.
            await asyncio.wait_for(actor.ping.options(max_task_retries=0).remote(), _KILL_WAIT)
        except ray.exceptions.RayActorError:
            return
        except asyncio.TimeoutError:
            continue
        except Exception:
            return
        await asyncio.sleep(0.01)


def _seconds(wait: Any) -> float:
    seconds = check_seconds(wait, "wait")
    assert seconds is not None  # none_ok is False
    return seconds


class AsyncStateStore(StoreHandle[Coroutine[Any, Any, "AsyncStateStore"]]):
    """An asyncio handle on the actor that owns a set of jobs and one budget.

    Make one with ``await AsyncStateStore.create(...)``, ``connect(...)`` or
    ``recover(...)``, the very constructors of `StateStore`
    (`shell._store_handle.StoreHandle`), awaited. ``async with`` shuts the
    store down on exit. Every change takes an optional ``command_id``; a
    timeout raises `OutcomeUnknown` carrying it, and a call again with it
    applies at most once (as `StateStore`). The handle is picklable; `sync`
    gives a `StateStore` on the same actor.
    """

    def __init__(
        self, actor: Any, name: str | None, namespace: str | None, timeout: float | None
    ) -> None:
        super().__init__(actor, name, namespace, timeout)
        self._sender = Coalescer(actor)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self._actor, self._name, self._namespace, self._timeout))

    @classmethod
    async def _start(cls, make_plan: Callable[[], lifecycle.StorePlan]) -> AsyncStateStore:
        """Start the plan's actor and await it; a failed start leaves no actor behind."""
        plan = make_plan()
        actor = lifecycle.start_actor(plan)
        store = cls(actor, plan.name, plan.namespace, plan.timeout)
        try:
            await store._send(requests.ping())
        except BaseException:
            await _discard(actor)
            raise
        return store

    @classmethod
    async def _connect(
        cls, make_connection: Callable[[], lifecycle.StoreConnection]
    ) -> AsyncStateStore:
        """Find the named actor and ask it, once, whether it is a store."""
        connection = make_connection()
        # The name lookup is a blocking GCS call: keep it off the loop.
        actor = await asyncio.to_thread(lifecycle.lookup_actor, connection)
        store = cls(actor, connection.name, connection.namespace, connection.timeout)
        try:
            answer = await store._send(requests.ping())
        except Exception as err:
            answer = err
        lifecycle.check_store_answer(answer, connection)
        return store

    def sync(self) -> Any:
        """Return a `shell.store.StateStore` on the same actor, for code outside the loop."""
        from shell.store import StateStore

        return StateStore(self._actor, self._name, self._namespace, self._timeout)

    async def shutdown(self) -> None:
        """Kill the store actor (as `StateStore.shutdown`); calling it twice is harmless.

        Replies still awaited on this handle are abandoned (their callers get
        `asyncio.CancelledError`). A journal keeps the store: `recover` starts it again.
        """
        if self._closed:
            return
        self._closed = True
        self._sender.close()
        await _discard(self._actor)

    async def __aenter__(self) -> AsyncStateStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.shutdown()

    async def _send(self, request: StoreRequest) -> Any:
        """Send one request and await its reply, with the library's errors.

        Raises:
            OutcomeUnknown: a change timed out (resend it with its ``command_id``).
            StateUnavailable: the handle was shut down, the store cannot be
                reached, or a read timed out.
            StateError: the store refused the request.
            asyncio.CancelledError: the caller was cancelled.
        """
        if self._closed:
            raise requests.closed_error(self._describe())
        require_ray(self._describe())
        try:
            reply = self._sender.send(request)
            timeout = waits.reply_timeout(request, self._timeout)
            return await (reply if timeout is None else asyncio.wait_for(reply, timeout))
        except Exception as err:
            requests.raise_send_error(request, err, self._describe())

    @property
    def remote_calls(self) -> int:
        """Remote calls this handle has sent (a coalesced batch counts once)."""
        return self._sender.remote_calls

    async def create_job(
        self, description: str, job_id: str | None = None, command_id: str | None = None
    ) -> str:
        """Create an empty job; as `StateStore.create_job`."""
        result: str = await self._send(requests.create_job(description, job_id, command_id))
        return result

    async def add_tasks(
        self,
        job_id: str,
        tasks: Iterable[TaskRecord | Mapping[str, Any]],
        command_id: str | None = None,
    ) -> int:
        """Append tasks to a job, all or none; as `StateStore.add_tasks`."""
        version: int = await self._send(requests.add_tasks(job_id, tasks, command_id))
        return version

    async def update_tasks(
        self, job_id: str, updates: TaskUpdates, command_id: str | None = None
    ) -> int:
        """Apply a batch of task updates, in order, all or none; as `StateStore.update_tasks`."""
        version: int = await self._send(requests.update_tasks(job_id, updates, command_id))
        return version

    async def close_job(self, job_id: str, command_id: str | None = None) -> None:
        """Take a job out of the store's memory; as `StateStore.close_job`."""
        await self._send(requests.close_job(job_id, command_id))

    async def job_summary(self, job_id: str) -> dict[str, Any]:
        """Return the job's summary; as `StateStore.job_summary`."""
        summary: dict[str, Any] = await self._send(requests.job_summary(job_id))
        return summary

    async def job_state(self, job_id: str) -> JobExecution:
        """Return the job's full immutable state; as `StateStore.job_state`."""
        job: JobExecution = await self._send(requests.job_state(job_id))
        return job

    async def poll_job(
        self, job_id: str, since_version: int | None = None
    ) -> tuple[int, dict[str, Any] | None]:
        """Return the version and the summary, or None if unchanged; as `StateStore.poll_job`."""
        version, summary = await self._send(requests.poll_job(job_id, since_version))
        return version, summary

    async def reserve(
        self,
        agent_name: str,
        agent_config: Mapping[str, Any] | None = None,
        reservation_id: str | None = None,
        command_id: str | None = None,
    ) -> ReservationDecision:
        """Check the budget and reserve in one step; as `StateStore.reserve`."""
        request = requests.reserve(agent_name, agent_config, reservation_id, command_id)
        decision: ReservationDecision = await self._send(request)
        return decision

    async def release(
        self,
        agent_name: str,
        amount: Any,
        reservation_id: str | None = None,
        command_id: str | None = None,
    ) -> None:
        """Give back part of an agent's reservation; as `StateStore.release`."""
        await self._send(requests.release(agent_name, amount, reservation_id, command_id))

    async def record_costs(
        self, records: Iterable[Mapping[str, Any]], command_id: str | None = None
    ) -> None:
        """Record paid jobs, all or none, idempotently by job id; as `StateStore.record_costs`."""
        request = requests.record_costs(records, command_id)
        if request is not None:
            await self._send(request)

    async def list_jobs(self) -> dict[str, int]:
        """Return every job id with its version; as `StateStore.list_jobs`."""
        versions: dict[str, int] = await self._send(requests.list_jobs())
        return versions

    async def budget_summary(self) -> dict[str, Any]:
        """Return the budget's summary; as `StateStore.budget_summary`."""
        summary: dict[str, Any] = await self._send(requests.budget_summary())
        return summary

    async def budget_state(self) -> BudgetState:
        """Return the immutable budget state; as `StateStore.budget_state`."""
        state: BudgetState = await self._send(requests.budget_state())
        return state

    async def info(self) -> dict[str, Any]:
        """Return the store's bookkeeping; as `StateStore.info`."""
        info: dict[str, Any] = await self._send(requests.store_info())
        return info

    async def wait_job(
        self, job_id: str, since_version: int | None, timeout: float
    ) -> tuple[int, dict[str, Any] | None]:
        """Wait up to ``timeout`` s for the job to change; as `StateStore.wait_job`."""
        version, summary = await self._send(waits.wait_job(job_id, since_version, timeout))
        return version, summary

    async def wait_budget(
        self, since_version: int | None, timeout: float
    ) -> tuple[int, dict[str, Any] | None]:
        """Wait up to ``timeout`` s for the budget to change; as `StateStore.wait_budget`."""
        version, summary = await self._send(waits.wait_budget(since_version, timeout))
        return version, summary

    def watch_job(self, job_id: str, wait: float = WATCH_WAIT) -> AsyncIterator[dict[str, Any]]:
        """Yield the job's summary now and after each change; end once the job is complete.

        A consumer slower than the writers gets the latest summary, not every
        one in between (changes coalesce). While nothing changes, one waiting
        call per ``wait`` seconds is all it costs, and no data moves.

        Raises (while iterating):
            InvalidArgumentError: bad ``job_id`` or ``wait`` (at the first step).
            UnknownJobError: no such job.
            StateUnavailable: the store is gone.
        """
        requests.check_name(job_id, "job_id")
        return watch_job(self.wait_job, job_id, _seconds(wait))

    def watch_budget(self, wait: float = WATCH_WAIT) -> AsyncIterator[dict[str, Any]]:
        """Yield the budget's summary now and after each change, until the caller stops.

        Coalesces as `watch_job` does.

        Raises (while iterating):
            StateUnavailable: the store is gone.
        """
        return watch_budget(self.wait_budget, _seconds(wait))
