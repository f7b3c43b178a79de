"""Async twins and waiting for a change (issue 13), side by side with the sync API.

- Heartbeat: one event loop runs 8 flows x (50 single-update calls + 10
  reservations against a budget that affords 50 of the 80) and a coroutine
  ticking every millisecond; its extra delay is measured with the
  `AsyncStateStore` and with the sync `StateStore` called from the loop.
- Burst: 400 calls gathered at once; the loop's longest stall, with the
  handle's coalescing and with one remote call per request.
- Throughput: 100 coroutines of single-update calls in one loop against 4
  sync writer processes (Ray tasks) making the same number of calls.
- Watching: the delay from a write to a watcher (`watch_job`) seeing it,
  against a poller that calls `poll_job` once per `StateCache` default TTL;
  and the remote calls each makes per minute of an idle job.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import threading
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import ray

from bench.report import Section, ratio
from shell.aio import AsyncStateStore
from shell.aio import _sender as sender
from shell.cache import StateCache
from shell.store import StateStore

__all__ = ["run"]

AGENTS = [{"name": "a", "price": 1}]
_START_DELAY = 2.0


def _tasks(n: int) -> list[dict[str, Any]]:
    return [{"task_id": f"t{i}", "agent_name": "a"} for i in range(n)]


def _update(i: int) -> list[dict[str, Any]]:
    return [{"task_id": f"t{i}", "status": "completed"}]


async def _with_heartbeat(work: Callable[[], Awaitable[Any]]) -> tuple[Any, list[float], float]:
    """Run ``work`` beside a 1 ms heartbeat; return its result, the beat delays and wall time."""
    delays: list[float] = []
    done = False

    async def beat() -> None:
        while not done:
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            delays.append(max(0.0, time.perf_counter() - before - 0.001))

    ticker = asyncio.ensure_future(beat())
    await asyncio.sleep(0.01)
    started = time.perf_counter()
    result = await work()
    wall = time.perf_counter() - started
    done = True
    await ticker
    return result, sorted(delays), wall


def _pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(len(values) * q))] if values else float("nan")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


async def _flows_async() -> tuple[int, list[float], float, int]:
    async with await AsyncStateStore.create({"total_budget": 50}, AGENTS) as store:
        job_id = await store.create_job("bench")
        await store.add_tasks(job_id, _tasks(400))

        async def flow(worker: int) -> int:
            granted = 0
            for k in range(50):
                await store.update_tasks(job_id, _update(worker * 50 + k))
                if k % 5 == 0:
                    granted += (await store.reserve("a", reservation_id=f"w{worker}-{k}"))[0]
            return granted

        async def work() -> int:
            return sum(await asyncio.gather(*(flow(w) for w in range(8))))

        granted, delays, wall = await _with_heartbeat(work)
        kept = (await store.job_summary(job_id))["completed_tasks"]
        return granted, delays, wall, kept


async def _flows_sync() -> tuple[int, list[float], float, int]:
    # Calling the sync API in the loop is the point here: silence its warning.
    warnings.filterwarnings("ignore", message=".*asyncio event loop", category=RuntimeWarning)
    store = StateStore.create({"total_budget": 50}, AGENTS)
    try:
        job_id = await asyncio.to_thread(store.create_job, "bench")
        await asyncio.to_thread(store.add_tasks, job_id, _tasks(400))

        async def flow(worker: int) -> int:
            granted = 0
            for k in range(50):
                store.update_tasks(job_id, _update(worker * 50 + k))  # blocks the loop
                if k % 5 == 0:
                    granted += store.reserve("a", reservation_id=f"w{worker}-{k}")[0]
                await asyncio.sleep(0)
            return granted

        async def work() -> int:
            return sum(await asyncio.gather(*(flow(w) for w in range(8))))

        granted, delays, wall = await _with_heartbeat(work)
        kept = (await asyncio.to_thread(store.job_summary, job_id))["completed_tasks"]
        return granted, delays, wall, kept
    finally:
        store.shutdown()


def _heartbeat() -> Section:
    a_granted, a_delays, a_wall, a_kept = asyncio.run(_flows_async())
    s_granted, s_delays, s_wall, s_kept = asyncio.run(_flows_sync())
    rows = [
        ["AsyncStateStore", _ms(_pct(a_delays, 0.5)), _ms(_pct(a_delays, 0.99)),
         _ms(a_delays[-1]), f"{a_wall:.2f}", a_kept, a_granted],
        ["StateStore called in the loop", _ms(_pct(s_delays, 0.5)), _ms(_pct(s_delays, 0.99)),
         _ms(s_delays[-1]), f"{s_wall:.2f}", s_kept, s_granted],
    ]  # fmt: skip
    p99 = _pct(a_delays, 0.99)
    return Section(
        key="async_heartbeat",
        title="Async: a 1 ms heartbeat beside 8 flows in one event loop",
        intro=(
            "8 coroutines each make 50 single-update calls and 10 reservations (budget affords "
            "50 of 80) while a coroutine sleeps 1 ms in a loop; the table shows how late its "
            "ticks come. Goal: p99 delay at most 20 ms with the async store."
        ),
        headers=["API", "p50 delay ms", "p99 delay ms", "max ms", "wall s", "kept", "granted"],
        rows=rows,
        verdicts=[
            (f"async heartbeat p99 {_ms(p99)} ms <= 20 ms", p99 <= 0.020),
            ("every update kept and exactly 50 granted (async)", a_kept == 400 and a_granted == 50),
        ],
        data={"async_p99": p99, "sync_p99": _pct(s_delays, 0.99)},
    )


async def _burst(coalesce: bool, calls: int) -> tuple[float, float, int]:
    async with await AsyncStateStore.create(None, AGENTS) as store:
        job_id = await store.create_job("bench")
        await store.add_tasks(job_id, _tasks(calls))
        saved = sender.MAX_COALESCED
        sender.MAX_COALESCED = saved if coalesce else 1
        try:
            before = store.remote_calls

            async def work() -> Any:
                return await asyncio.gather(
                    *(store.update_tasks(job_id, _update(i)) for i in range(calls))
                )

            _, delays, wall = await _with_heartbeat(work)
        finally:
            sender.MAX_COALESCED = saved
        return delays[-1], wall, store.remote_calls - before


def _burst_section() -> Section:
    rows = []
    figures = {}
    for coalesce in (True, False):
        stall, wall, remote = asyncio.run(_burst(coalesce, 400))
        label = "coalesced (default)" if coalesce else "one remote call per request"
        figures[coalesce] = stall
        rows.append([label, remote, _ms(stall), _ms(wall)])
    return Section(
        key="async_burst",
        title="Async: 400 calls at once",
        intro=(
            "400 single-update calls gathered in one event loop; the longest stall is the "
            "largest extra delay of a 1 ms heartbeat during the burst. Submitting a remote "
            "call is synchronous work, so the handle queues the calls of one loop turn and "
            "sends them as one `call_many` (each request still atomic on its own)."
        ),
        headers=["mode", "remote calls", "longest stall ms", "burst wall ms"],
        rows=rows,
        verdicts=[("coalescing stalls the loop less", figures[True] <= figures[False])],
        data={"coalesced_stall": figures[True], "uncoalesced_stall": figures[False]},
    )


@ray.remote(num_cpus=0.25)
def _sync_writer(
    store: StateStore, job_id: str, first: int, count: int, start_at: float
) -> tuple[float, float]:
    store.job_summary(job_id)  # warm the worker before the common start
    time.sleep(max(0.0, start_at - time.time()))
    started = time.time()
    for i in range(first, first + count):
        store.update_tasks(job_id, _update(i))
    return started, time.time()


def _throughput(total: int) -> Section:
    store = StateStore.create(None, AGENTS)
    try:
        job_id = store.create_job("sync")
        store.add_tasks(job_id, _tasks(total))
        start_at = time.time() + _START_DELAY
        share = total // 4
        refs = [_sync_writer.remote(store, job_id, w * share, share, start_at) for w in range(4)]
        spans = ray.get(refs)
        # From the first writer's start to the last one's end: a late worker counts against it.
        sync_rate = total / (max(e for _, e in spans) - min(s for s, _ in spans))
    finally:
        store.shutdown()

    async def coroutines() -> float:
        async with await AsyncStateStore.create(None, AGENTS) as astore:
            job = await astore.create_job("async")
            await astore.add_tasks(job, _tasks(total))
            share = total // 100

            async def writer(w: int) -> None:
                for i in range(w * share, (w + 1) * share):
                    await astore.update_tasks(job, _update(i))

            started = time.perf_counter()
            await asyncio.gather(*(writer(w) for w in range(100)))
            rate = total / (time.perf_counter() - started)
            assert (await astore.job_summary(job))["completed_tasks"] == total
            return rate

    async_rate = asyncio.run(coroutines())
    return Section(
        key="async_throughput",
        title="Async: 100 coroutines in one loop vs 4 sync writer processes",
        intro=(
            f"{total} single-update calls, made by 100 coroutines of one event loop through an "
            "`AsyncStateStore`, or by 4 Ray tasks (separate processes) through `StateStore`. "
            "Goal: the loop reaches at least the processes' throughput."
        ),
        headers=["writers", "updates/s", "ratio"],
        rows=[
            ["4 sync processes", f"{sync_rate:,.0f}", "1.00"],
            ["100 coroutines, 1 loop", f"{async_rate:,.0f}", f"{ratio(async_rate, sync_rate):.2f}"],
        ],
        verdicts=[("100 coroutines >= 4 sync processes", async_rate >= sync_rate)],
        data={"sync_rate": sync_rate, "async_rate": async_rate},
    )


def _watching(idle: float, writes: int) -> Section:
    """Watcher vs cached poller on one job: idle calls per minute, then latency per write."""
    ttl = StateCache().ttl

    async def main() -> tuple[list[float], list[float], float, float, list[float]]:
        async with await AsyncStateStore.create(None, AGENTS) as store:
            job_id = await store.create_job("watched")
            await store.add_tasks(job_id, _tasks(writes + 1))
            sync = store.sync()
            written: dict[int, float] = {}  # when each write call started
            acked: dict[int, float] = {}  # when its reply came back
            watcher_seen: list[float] = []
            poller_seen: list[float] = []
            poller_calls = 0
            stop = threading.Event()

            def poller() -> None:
                nonlocal poller_calls
                version, seen = None, 0
                while not stop.wait(ttl):
                    poller_calls += 1
                    version, summary = sync.poll_job(job_id, version)
                    if summary is not None:
                        now = time.perf_counter()
                        new = summary["running_tasks"]
                        poller_seen.extend(now - acked[v] for v in acked if seen < v <= new)
                        seen = new

            async def watcher() -> None:
                seen = 0
                async for summary in store.watch_job(job_id):
                    now = time.perf_counter()
                    new = summary["running_tasks"]
                    watcher_seen.extend(now - written[v] for v in written if seen < v <= new)
                    seen = new

            thread = threading.Thread(target=poller, daemon=True)
            watching = asyncio.ensure_future(watcher())
            await asyncio.sleep(0.2)
            thread.start()
            watch_before = store.remote_calls
            polls_before = poller_calls
            await asyncio.sleep(idle)  # idle: count the calls each makes
            watcher_per_min = (store.remote_calls - watch_before) * 60 / idle
            poller_per_min = (poller_calls - polls_before) * 60 / idle
            # Writes go through a second handle so the watcher's call count stays its own.
            other = AsyncStateStore(store._actor, None, None, None)
            for n in range(1, writes + 1):
                await asyncio.sleep(random.uniform(0.05, ttl))
                written[n] = time.perf_counter()
                await other.update_tasks(job_id, [{"task_id": f"t{n}", "status": "running"}])
                acked[n] = time.perf_counter()
            await asyncio.sleep(ttl + 0.5)
            stop.set()
            watching.cancel()
            thread.join()
            write_trips = [acked[n] - written[n] for n in written]
            return watcher_seen, poller_seen, watcher_per_min, poller_per_min, write_trips

    w_seen, p_seen, w_rate, p_rate, trips = asyncio.run(main())
    trip = statistics.median(trips)
    w_median = statistics.median(w_seen) if w_seen else float("nan")
    p_median = statistics.median(p_seen) if p_seen else float("nan")
    return Section(
        key="async_watch",
        title="Waiting for a change: watcher vs cached poller",
        intro=(
            f"One job, watched by `AsyncStateStore.watch_job` and polled with `poll_job` every "
            f"{ttl:g} s (the `StateCache` default TTL). Idle for {idle:g} s, then {writes} writes "
            "at random times. The watcher's latency runs from the *start* of the write call to "
            "the watcher holding the new summary, so it includes the write's own round trip "
            f"(median {_ms(trip)} ms in this run); the poller's from the write's reply. An idle "
            "watcher's calls each wait up to 15 s and return no data."
        ),
        headers=["reader", "median latency ms", "max latency ms", "remote calls / idle min"],
        rows=[
            ["watch_job", _ms(w_median), _ms(max(w_seen, default=float("nan"))), f"{w_rate:.1f}"],
            [
                f"poll_job every {ttl:g} s",
                _ms(p_median),
                _ms(max(p_seen, default=float("nan"))),
                f"{p_rate:.1f}",
            ],
        ],
        verdicts=[(f"watcher median {_ms(w_median)} ms <= 5 ms", w_median <= 0.005)],
        data={"watch_median": w_median, "poll_median": p_median},
    )


def run(quick: bool) -> list[Section]:
    """Run every async scenario; ``quick`` shortens the idle window and the write count."""
    return [
        _heartbeat(),
        _burst_section(),
        _throughput(2000 if quick else 4000),
        _watching(idle=20.0 if quick else 60.0, writes=5 if quick else 15),
    ]
