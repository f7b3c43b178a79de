"""AsyncStateStore with a real local Ray: awaited calls, coalescing, waiting and watching."""

from __future__ import annotations

import asyncio
import pickle
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from core.errors import InvalidTransitionError, InvalidUpdateError, StateError
from shell.aio import AsyncStateStore
from shell.errors import (
    DuplicateJobError,
    InvalidArgumentError,
    StateUnavailable,
    UnknownJobError,
)
from shell.store import StateStore

pytestmark = pytest.mark.usefixtures("ray_session")

AGENTS = [{"name": "a", "price": 1}]
T = TypeVar("T")


def run(body: Callable[[AsyncStateStore], Awaitable[T]], total: int = 50) -> T:
    """Run ``body`` with a fresh store in a fresh event loop, and shut the store down after."""

    async def main() -> T:
        async with await AsyncStateStore.create({"total_budget": total}, AGENTS) as store:
            return await body(store)

    return asyncio.run(main())


async def _job(store: AsyncStateStore, n: int) -> str:
    job_id = await store.create_job("audience")
    await store.add_tasks(job_id, [{"task_id": f"t{i}", "agent_name": "a"} for i in range(n)])
    return job_id


def test_async_methods_mirror_the_sync_results() -> None:
    """Each coroutine returns what its sync twin returns for the same call."""

    async def body(store: AsyncStateStore) -> None:
        job_id = await _job(store, 2)
        assert await store.update_tasks(job_id, [{"task_id": "t0", "status": "running"}]) == 3
        version, summary = await store.poll_job(job_id)
        assert version == 3 and summary is not None and summary["running_tasks"] == 1
        assert await store.poll_job(job_id, 3) == (3, None)
        sync = store.sync()
        # The sync twin runs off the loop, as a driver should run it.
        assert await asyncio.to_thread(sync.job_summary, job_id) == await store.job_summary(job_id)
        assert (await store.job_state(job_id)).job_id == job_id
        decision = await store.reserve("a", reservation_id="r1")
        assert decision.can_afford and decision == await store.reserve("a", reservation_id="r1")
        await store.release("a", 1)
        await store.record_costs([{"agent_name": "a", "expected": 1, "actual": 1, "job_id": "j"}])
        assert await store.budget_summary() == await asyncio.to_thread(sync.budget_summary)
        assert (await store.budget_state()) == await asyncio.to_thread(sync.budget_state)

    run(body)


def test_async_errors_are_the_sync_errors() -> None:
    """Bad arguments raise before any remote call; the actor's refusals arrive as their own type."""

    async def body(store: AsyncStateStore) -> None:
        job_id = await _job(store, 1)
        sent = store.remote_calls
        with pytest.raises(InvalidArgumentError):
            await store.job_summary("")
        with pytest.raises(InvalidUpdateError):
            await store.update_tasks(job_id, [{"task_id": "t0", "status": "nope"}])
        assert store.remote_calls == sent
        with pytest.raises(UnknownJobError):
            await store.job_summary("missing")
        with pytest.raises(DuplicateJobError):
            await store.create_job("again", job_id=job_id)
        await store.update_tasks(job_id, [{"task_id": "t0", "status": "completed"}])
        with pytest.raises(InvalidTransitionError):
            await store.update_tasks(job_id, [{"task_id": "t0", "status": "running"}])

    run(body)


def test_concurrent_calls_coalesce_and_each_stays_atomic() -> None:
    """400 calls gathered at once use a few remote calls; a bad batch fails alone, whole."""

    async def body(store: AsyncStateStore) -> None:
        job_id = await _job(store, 400)
        sent = store.remote_calls
        calls = [
            store.update_tasks(job_id, [{"task_id": f"t{i}", "status": "completed"}])
            for i in range(400)
        ]
        # One batch that is half good, half bad: it must change nothing.
        calls.append(
            store.update_tasks(
                job_id,
                [{"task_id": "t0", "status": "completed"}, {"task_id": "zz", "status": "running"}],
            )
        )
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert store.remote_calls - sent <= 3
        assert all(isinstance(v, int) for v in results[:400])
        assert isinstance(results[400], StateError)
        summary = await store.job_summary(job_id)
        assert summary["completed_tasks"] == 400
        # 2 (create + add) + 400 changes; the refused batch made no version.
        assert (await store.poll_job(job_id))[0] == 402

    run(body)


def test_cancelled_call_is_never_half_applied() -> None:
    """A call cancelled before it leaves is not applied; one cancelled later is applied whole."""

    async def body(store: AsyncStateStore) -> None:
        job_id = await _job(store, 4)
        early = asyncio.ensure_future(
            store.update_tasks(job_id, [{"task_id": "t0", "status": "running"}])
        )
        await asyncio.sleep(0)  # the coroutine queued its request ...
        early.cancel()  # ... and is cancelled before the loop's next turn sends it
        with pytest.raises(asyncio.CancelledError):
            await early
        late = asyncio.ensure_future(
            store.update_tasks(
                job_id,
                [{"task_id": "t1", "status": "running"}, {"task_id": "t2", "status": "running"}],
            )
        )
        await asyncio.sleep(0.0005)
        late.cancel()
        with pytest.raises(asyncio.CancelledError):
            await late
        summary = await store.job_summary(job_id)
        assert summary["running_tasks"] in (0, 2)
        assert (await store.job_state(job_id)).tasks["t0"].status.value == "pending"

    run(body)


def test_timeout_is_asyncio_native_and_raises_a_state_error() -> None:
    """A reply later than the handle's timeout raises a StateError that is not CancelledError."""

    async def main() -> None:
        store = await AsyncStateStore.create(None, AGENTS)
        try:
            impatient = AsyncStateStore(store._actor, None, None, 0.0001)
            job_id = await store.create_job("x")
            await store.add_tasks(
                job_id, [{"task_id": f"t{i}", "agent_name": "a"} for i in range(2000)]
            )
            with pytest.raises(StateError):
                await impatient.job_state(job_id)
        finally:
            await store.shutdown()

    asyncio.run(main())


def test_wait_job_returns_on_the_write_that_changes_it() -> None:
    """wait_job returns the new version and summary on change, (since, None) on timeout."""

    async def body(store: AsyncStateStore) -> None:
        job_id = await _job(store, 2)
        assert await store.wait_job(job_id, 2, 0.05) == (2, None)
        waiting = asyncio.ensure_future(store.wait_job(job_id, 2, 10))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        await store.update_tasks(job_id, [{"task_id": "t0", "status": "running"}])
        version, summary = await asyncio.wait_for(waiting, 5)
        assert version == 3 and summary is not None and summary["running_tasks"] == 1
        with pytest.raises(UnknownJobError):
            await store.wait_job("missing", None, 1)
        with pytest.raises(InvalidArgumentError):
            await store.wait_job(job_id, 1, 0)

    run(body)


def test_waiters_do_not_block_writers() -> None:
    """Twenty waiting calls in flight leave writes as fast as ever."""

    async def body(store: AsyncStateStore) -> None:
        job_id = await _job(store, 50)
        waiters = [asyncio.ensure_future(store.wait_budget(1, 10)) for _ in range(20)]
        await asyncio.sleep(0.05)
        started = time.perf_counter()
        for i in range(50):
            await store.update_tasks(job_id, [{"task_id": f"t{i}", "status": "running"}])
        assert time.perf_counter() - started < 5
        assert not any(w.done() for w in waiters)
        await store.reserve("a")
        results = await asyncio.gather(*waiters)
        assert all(version == 2 and s is not None for version, s in results)

    run(body)


def test_watch_job_coalesces_and_ends_when_the_job_completes() -> None:
    """A slow watcher sees the newest summary, never a stale one, and stops at completion."""

    async def body(store: AsyncStateStore) -> None:
        job_id = await _job(store, 20)
        seen: list[dict[str, Any]] = []

        async def watcher() -> None:
            async for summary in store.watch_job(job_id):
                seen.append(summary)
                await asyncio.sleep(0.05)  # slower than the writer

        watching = asyncio.ensure_future(watcher())
        for i in range(20):
            await store.update_tasks(job_id, [{"task_id": f"t{i}", "status": "completed"}])
        await asyncio.wait_for(watching, 10)
        completed = [s["completed_tasks"] for s in seen]
        assert completed == sorted(completed) and len(seen) < 21
        assert seen[-1]["is_complete"] and completed[-1] == 20

    run(body)


def test_many_watchers_of_one_job_share_one_waiting_call() -> None:
    """200 watchers of one job in one process cost one waiting call per change, not 200."""

    async def body(store: AsyncStateStore) -> None:
        job_id = await _job(store, 1)
        seen: list[int] = []

        async def watcher() -> None:
            async for summary in store.watch_job(job_id):
                seen.append(summary["completed_tasks"])

        watchers = [asyncio.ensure_future(watcher()) for _ in range(200)]
        await asyncio.sleep(0.2)
        before = store.remote_calls
        await store.update_tasks(job_id, [{"task_id": "t0", "status": "completed"}])
        await asyncio.wait_for(asyncio.gather(*watchers), 10)
        assert seen.count(1) == 200
        # The write itself, then at most a couple of shared waits (none is needed after completion).
        assert store.remote_calls - before <= 3

    run(body)


def test_watch_budget_yields_each_change() -> None:
    """watch_budget yields the current budget, then a summary after each reservation."""

    async def body(store: AsyncStateStore) -> None:
        watcher = store.watch_budget()
        first = await watcher.__anext__()
        await store.reserve("a")
        second = await asyncio.wait_for(watcher.__anext__(), 5)
        assert second != first
        await watcher.aclose()

    run(body)


def test_sync_wait_job_and_wait_budget() -> None:
    """The sync handle waits too, and reports the timeout as (since, None)."""
    store = StateStore.create({"total_budget": 5}, AGENTS)
    try:
        job_id = store.create_job("x")
        assert store.wait_job(job_id, 1, 0.02) == (1, None)
        version, summary = store.wait_job(job_id, None, 0.02)
        assert version == 1 and summary == store.job_summary(job_id)
        assert store.wait_budget(1, 0.02) == (1, None)
        store.reserve("a")
        version, budget = store.wait_budget(1, 1)
        assert version == 2 and budget == store.budget_summary()
    finally:
        store.shutdown()


def test_watcher_latency_is_a_few_milliseconds() -> None:
    """A waiting call wakes within a few ms of the write (median; the bench measures it)."""

    async def body(store: AsyncStateStore) -> list[float]:
        job_id = await _job(store, 30)
        lags = []
        for i in range(30):
            version = (await store.poll_job(job_id))[0]
            waiting = asyncio.ensure_future(store.wait_job(job_id, version, 5))
            await asyncio.sleep(0.005)
            await store.update_tasks(job_id, [{"task_id": f"t{i}", "status": "running"}])
            written = time.perf_counter()
            await waiting
            lags.append(time.perf_counter() - written)
        return lags

    assert statistics.median(run(body)) < 0.05


def test_handles_pickle_shut_down_and_connect() -> None:
    """The handle pickles; connect finds a named store; a shut store raises StateUnavailable."""

    async def main() -> None:
        name = f"async-{time.monotonic_ns()}"
        store = await AsyncStateStore.create(None, AGENTS, name=name)
        other = await AsyncStateStore.connect(name)
        copy = pickle.loads(pickle.dumps(store))
        job_id = await other.create_job("x")
        assert (await copy.job_summary(job_id))["job_id"] == job_id
        await store.shutdown()
        await store.shutdown()
        with pytest.raises(StateUnavailable):
            await store.job_summary(job_id)
        with pytest.raises(StateUnavailable):
            await other.job_summary(job_id)
        with pytest.raises(StateUnavailable):
            await AsyncStateStore.connect(name)

    asyncio.run(main())


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda cls: cls.create({"total_budget": -1}, AGENTS), "total_budget"),
        (lambda cls: cls.create(None, AGENTS, timeout=0), "timeout"),
        (lambda cls: cls.recover("", "sqlite:///x.db"), "name"),
        (lambda cls: cls.connect("s", namespace=""), "namespace"),
    ],
)
def test_constructors_refuse_alike_and_the_async_ones_only_when_awaited(
    make: Callable[[type[Any]], Any], field: str
) -> None:
    """create, recover and connect refuse bad arguments as the sync ones do, once awaited."""
    with pytest.raises(StateError) as sync_error:
        make(StateStore)
    pending = make(AsyncStateStore)  # nothing is checked or started before the await
    with pytest.raises(StateError) as async_error:
        asyncio.run(pending)
    assert type(async_error.value) is type(sync_error.value)
    assert (async_error.value.field, str(async_error.value)) == (field, str(sync_error.value))


def test_repr_names_the_store_alike() -> None:
    """Both handles on one store print the same description, and say when they are shut down."""

    async def main() -> None:
        name = f"repr-{time.monotonic_ns()}"
        store = await AsyncStateStore.create(None, AGENTS, name=name)
        assert repr(store) == repr(store.sync()).replace("StateStore", "AsyncStateStore", 1)
        assert repr(store) == f"AsyncStateStore(store {name!r} (namespace None))"
        await store.shutdown()
        assert repr(store).endswith(", shut down)")

    asyncio.run(main())
