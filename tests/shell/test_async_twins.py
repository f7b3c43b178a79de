"""Async twins with a real Ray: cache, managers, batcher, the loop warning, 8 flows in one loop."""

from __future__ import annotations

import asyncio
import time
import warnings
from typing import Any

import pytest

from core.errors import StateError
from shell import ray_ops
from shell.aio import (
    AsyncBudgetManager,
    AsyncStateBatcher,
    AsyncStateCache,
    AsyncStateManager,
    AsyncStateStore,
)
from shell.cache import StateCache
from shell.errors import InvalidArgumentError, StateUnavailable
from shell.managers import StateManager
from shell.store import StateStore

pytestmark = pytest.mark.usefixtures("ray_session")

AGENTS = [{"name": "a", "price": 1}]


def _no_ray_get(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any ray.get fail the test: the async path must only await."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("ray.get called on the async path")

    monkeypatch.setattr(ray_ops.ray, "get", refuse)


def test_async_cache_awaits_misses_and_shares_entries(
    ray_session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AsyncStateCache fills the shared StateCache by awaiting; later reads need no Ray."""
    cache = StateCache()
    refs = [ray_session.put({"n": i}) for i in range(3)]
    _no_ray_get(monkeypatch)

    async def main() -> None:
        reader = AsyncStateCache(cache)
        assert await reader.get(refs[0]) == {"n": 0}
        assert await reader.get_many(refs, lambda s: s["n"]) == [0, 1, 2]
        assert reader.fetches == 3
        assert await reader.get(refs[1]) == {"n": 1} and reader.fetches == 3
        with pytest.raises(InvalidArgumentError):
            await reader.get("not a ref")

    asyncio.run(main())
    assert cache.get(refs[2]) == {"n": 2}
    with pytest.raises(InvalidArgumentError):
        AsyncStateCache("nope")  # type: ignore[arg-type]


def test_async_cache_reports_a_lost_object_as_unavailable(ray_session: Any) -> None:
    """A ref whose task failed with a Ray error reads as StateUnavailable, not a Ray error."""

    @ray_session.remote
    def crash() -> None:
        import os

        os._exit(1)

    ref = crash.options(max_retries=0).remote()
    with pytest.raises(StateUnavailable):
        asyncio.run(AsyncStateCache(StateCache()).get(ref))


def test_async_managers_never_call_ray_get(monkeypatch: pytest.MonkeyPatch) -> None:
    """The async managers read by awaiting and agree with the sync ones."""
    job_id, ref = StateManager.create_job_execution("x", job_id="J")
    _no_ray_get(monkeypatch)

    async def main() -> None:
        job = await AsyncStateManager.add_agent_task(ref, {"task_id": "t", "agent_name": "a"})
        job = await AsyncStateManager.batch_update_tasks(
            job, [{"task_id": "t", "status": "completed"}]
        )
        summary = await AsyncStateManager.get_job_summary(job)
        assert summary["completed_tasks"] == 1 and summary["is_complete"]
        assert [r["task_id"] for r in await AsyncStateManager.get_results(job)] == ["t"]
        budget = await AsyncBudgetManager.initialize_budget({"total_budget": 1}, AGENTS)
        ok, _, _, budget = await AsyncBudgetManager.check_and_reserve_budget(budget, "a", None)
        refused, _, _, budget = await AsyncBudgetManager.check_and_reserve_budget(budget, "a", None)
        assert ok and not refused
        assert (await AsyncBudgetManager.get_budget_summary(budget))["total_reserved"] == 1

    asyncio.run(main())
    assert job_id == "J"


def test_sync_call_in_a_running_loop_warns_once_naming_its_twin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """StateStore called inside an event loop warns once, naming AsyncStateStore's method."""
    monkeypatch.setattr(ray_ops, "_loop_warned", False)
    store = StateStore.create(None, AGENTS)
    try:

        async def main() -> None:
            with pytest.warns(RuntimeWarning, match=r"AsyncStateStore\.budget_summary"):
                store.budget_summary()
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                store.budget_summary()  # once per process: no second warning

        asyncio.run(main())
    finally:
        store.shutdown()


def test_batcher_flushes_in_the_background_and_on_exit() -> None:
    """max_items and max_delay trigger background flushes; leaving async with flushes the rest."""

    async def main() -> None:
        async with await AsyncStateStore.create(None, AGENTS) as store:
            job_id = await store.create_job("x")
            await store.add_tasks(
                job_id, [{"task_id": f"t{i}", "agent_name": "a"} for i in range(25)]
            )
            async with AsyncStateBatcher(
                backend=store, job_id=job_id, max_items=10, max_delay=0.05
            ) as batcher:
                for i in range(10):
                    await batcher.add_task_update(f"t{i}", "running")
                for _ in range(200):  # the 10th item made it due
                    if not len(batcher):
                        break
                    await asyncio.sleep(0.01)
                assert (await store.job_summary(job_id))["running_tasks"] == 10
                await batcher.add_task_update("t10", "running")
                await asyncio.sleep(0.3)  # max_delay passes
                assert (await store.job_summary(job_id))["running_tasks"] == 11
                for i in range(11, 25):
                    await batcher.add_task_update(f"t{i}", "completed")
                await batcher.add_cost_record("a", 1, 1, "c1")
            assert (await store.job_summary(job_id))["completed_tasks"] == 14
            assert (await store.budget_summary())["total_spent"] == 1

    asyncio.run(main())


def test_batcher_backpressure_waits_then_proceeds() -> None:
    """At max_pending, add_* waits until a flush makes room instead of growing the queue."""

    async def main() -> None:
        async with await AsyncStateStore.create(None, AGENTS) as store:
            job_id = await store.create_job("x")
            await store.add_tasks(
                job_id, [{"task_id": f"t{i}", "agent_name": "a"} for i in range(40)]
            )
            batcher = AsyncStateBatcher(backend=store, job_id=job_id, max_delay=0.2, max_pending=5)
            most = 0
            for i in range(40):
                await batcher.add_task_update(f"t{i}", "running")
                most = max(most, len(batcher))
            await batcher.close()
            assert most <= 5
            assert (await store.job_summary(job_id))["running_tasks"] == 40

    asyncio.run(main())


def test_batcher_refused_flush_keeps_items_and_unblocks_adders() -> None:
    """A batch the store refuses stays queued, whole; a full queue then raises, not hangs."""

    async def main() -> None:
        async with await AsyncStateStore.create(None, AGENTS) as store:
            job_id = await store.create_job("x")
            batcher = AsyncStateBatcher(
                backend=store, job_id=job_id, max_items=2, max_delay=0.01, max_pending=2
            )
            await batcher.add_task_update("ghost", "running")
            await batcher.add_task_update("ghost2", "running")
            with pytest.raises(Exception) as raised:
                await asyncio.wait_for(batcher.add_task_update("ghost3", "running"), 5)
            assert raised.value is batcher.last_error
            assert [u.task_id for u in batcher.pending().task_updates] == ["ghost", "ghost2"]
            assert (await store.job_summary(job_id))["total_tasks"] == 0
            with pytest.raises(StateError):  # close's flush is refused too: items stay
                await batcher.close()
            assert len(batcher) == 2
            batcher.clear()
            await batcher.close()

    asyncio.run(main())


def test_eight_flows_in_one_loop_keep_every_update_and_grant_exactly_fifty() -> None:
    """8 flows x (50 updates + 10 reservations): 400 kept, 50 of 80 granted, loop responsive."""

    async def main() -> list[float]:
        async with await AsyncStateStore.create({"total_budget": 50}, AGENTS) as store:
            job_id = await store.create_job("x")
            await store.add_tasks(
                job_id, [{"task_id": f"t{i}", "agent_name": "a"} for i in range(400)]
            )
            delays: list[float] = []
            running = True

            async def heartbeat() -> None:
                while running:
                    before = time.perf_counter()
                    await asyncio.sleep(0.001)
                    delays.append(time.perf_counter() - before - 0.001)

            async def flow(worker: int) -> int:
                granted = 0
                for k in range(50):
                    await store.update_tasks(
                        job_id, [{"task_id": f"t{worker * 50 + k}", "status": "completed"}]
                    )
                    if k % 5 == 0:
                        decision = await store.reserve("a", reservation_id=f"w{worker}-{k}")
                        granted += decision.can_afford
                return granted

            beat = asyncio.ensure_future(heartbeat())
            granted = await asyncio.gather(*(flow(w) for w in range(8)))
            running = False
            await beat
            summary = await store.job_summary(job_id)
            assert summary["completed_tasks"] == 400 and summary["is_complete"]
            assert sum(granted) == 50
            assert (await store.budget_summary())["total_reserved"] == 50
            return sorted(delays)

    delays = asyncio.run(main())
    p99 = delays[int(len(delays) * 0.99)]
    # The goal is 20 ms (bench/async_api.py measures it); shared CI machines get slack.
    assert p99 < 0.1
