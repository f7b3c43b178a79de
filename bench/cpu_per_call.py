"""CPU per call of a batch of 100 updates, caller and actor apart: StateStore vs the dict actor.

Run alone, on a quiet machine (Linux: it reads ``/proc``)::

    python -m bench.cpu_per_call [--calls 200] [--rounds 5]

The throughput section of `bench.store_concurrency` gives the ratio; this
says where it comes from. One writer at a time (a Ray task) sends batches of
100 pending -> completed updates, and for each path it reports the writer's
CPU per call (``time.process_time`` in the writer) and the actor process's
(its threads' ``/proc`` CPU time over the same calls), median of the rounds, which
alternate the paths' order. The last two columns are the share of those that
ran Python: the writer's own thread (``time.thread_time``) and the actor's
threads that Ray names after the process (the one that runs its calls, and a
threaded actor's pools), without Ray's own threads (io, polling, events),
whose CPU is the same for every path and the noisiest part of the totals:

- ``dict``: `bench.store_concurrency.DictStore`, the hand-written actor;
- ``store``: `StateStore.update_tasks`, everything the handle does;
- ``wire``: the store's actor called with update commands built in advance
  (`core.ledger.command_to_wire`), so the writer pays only Ray's transfer;
- ``build``: building the request alone, with no call (the caller's own work).

Not part of ``python -m bench``: it measures no target of its own.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import ray

from bench.store_concurrency import AGENTS, BUDGET, PRICE, DictStore
from shell import _store_requests as requests
from shell.store import StateStore

__all__ = ["main"]

PATHS = ("dict", "store", "wire", "build")
# The actors' process titles, as Ray sets them (ray::<class name>).
_TITLES = {"dict": "ray::DictStoreBody", "store": "ray::_StoreProcess"}
_TICK_MS = 10.0  # USER_HZ is 100 on Linux
_SCHEDSTAT = Path("/proc/self/schedstat").exists()


def _actor_cpu_ms(title: str) -> tuple[float, float]:
    """CPU milliseconds used so far by the processes whose command line starts with ``title``.

    Read per thread from ``/proc/<pid>/task/<tid>/schedstat`` (nanoseconds: a
    call's share is visible), or from ``/proc/<pid>/stat`` in 10 ms ticks
    where the kernel keeps no schedstat. Ray's threads live as long as the
    actor, so none of the CPU counted before a call leaves the sum after it.

    Returns:
        ``(all threads, Python's threads)``: the second counts the threads named
        after the process (``ray::...``), 0 where there is no schedstat.
    """
    total = python = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if not (stat.parent / "cmdline").read_text().startswith(title):
                continue
            every, named = _process_cpu_ms(stat.parent)
        except OSError:  # the process ended while we looked
            continue
        total, python = total + every, python + named
    return total, python


def _process_cpu_ms(process: Path) -> tuple[float, float]:
    """CPU milliseconds of one process and of its threads named ``ray::...`` (Python's)."""
    if not _SCHEDSTAT:
        text = (process / "stat").read_text()
        fields = text[text.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) * _TICK_MS, 0.0
    total_ns = python_ns = 0
    for thread in (process / "task").iterdir():
        try:
            used = int((thread / "schedstat").read_text().split()[0])
            named = (thread / "comm").read_text().startswith("ray::")
        except OSError:  # the thread ended while we looked
            continue
        total_ns += used
        python_ns += used if named else 0
    return total_ns / 1e6, python_ns / 1e6


@ray.remote(num_cpus=0.5)
def _writer(target: Any, path: str, job_id: str, calls: int) -> tuple[float, float]:
    """Send ``calls`` batches of 100 along ``path``; return the writer's CPU seconds.

    Returns:
        ``(the process, its own thread)``.
    """
    batches = [
        [
            {"task_id": f"t{call * 100 + i}", "status": "completed", "result": "ok"}
            for i in range(100)
        ]
        for call in range(calls)
    ]
    wires = [requests.update_tasks(job_id, batch).args[0] for batch in batches]
    began, began_thread = time.process_time(), time.thread_time()
    for batch, wire in zip(batches, wires, strict=True):
        if path == "dict":
            ray.get(target.update_tasks.remote(job_id, batch))
        elif path == "store":
            target.update_tasks(job_id, batch)
        elif path == "wire":
            ray.get(target._actor.execute.remote(wire))
        else:
            requests.update_tasks(job_id, batch)
    return time.process_time() - began, time.thread_time() - began_thread


def _new_job(target: Any, path: str, round_no: int, size: int) -> str:
    """Create a job of ``size`` pending tasks in the store or the dict actor; return its id."""
    job_id = f"{path}-{round_no}"
    tasks = [{"task_id": f"t{i}", "agent_name": "a"} for i in range(size)]
    if isinstance(target, StateStore):
        target.create_job("cpu per call", job_id=job_id)
        target.add_tasks(job_id, tasks)
    else:
        ray.get(target.create_job.remote(job_id))
        ray.get(target.add_tasks.remote(job_id, tasks))
    return job_id


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    calls, rounds = args.calls, args.rounds
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    store = StateStore.create({"total_budget": BUDGET}, AGENTS)
    plain = DictStore.remote(float(BUDGET), float(PRICE))
    try:
        ray.get(plain.ping.remote())
        figures: dict[str, list[tuple[float, ...]]] = {path: [] for path in PATHS}
        for round_no in range(rounds + 1):  # round 0 warms the worker processes up
            for path in PATHS if round_no % 2 else PATHS[::-1]:
                title = _TITLES["dict" if path == "dict" else "store"]
                target = plain if path == "dict" else store
                job_id = _new_job(target, path, round_no, calls * 100)
                before, before_python = _actor_cpu_ms(title)
                writer_s, writer_thread_s = ray.get(_writer.remote(target, path, job_id, calls))
                after, after_python = _actor_cpu_ms(title)
                if isinstance(target, StateStore):
                    target.close_job(job_id)  # its tasks leave the actor's memory
                if round_no:
                    row = (writer_s * 1e3, (after - before), writer_thread_s * 1e3)
                    row += (after_python - before_python,)
                    figures[path].append(tuple(value / calls for value in row))
    finally:
        store.shutdown()
        ray.kill(plain)
        ray.shutdown()
    print(f"ms of CPU per call of 100 updates, median of {rounds} rounds of {calls} calls")
    print(f"{'':8}{'whole processes':>30}{'Python threads':>30}")
    print(f"{'path':8}" + f"{'writer':>10}{'actor':>10}{'total':>10}" * 2)
    for path, rows in figures.items():
        writer, actor, writer_python, actor_python = (
            0.0
            if path == "build" and column % 2
            else statistics.median(row[column] for row in rows)
            for column in range(4)
        )
        line = f"{writer:10.3f}{actor:10.3f}{writer + actor:10.3f}"
        line += f"{writer_python:10.3f}{actor_python:10.3f}{writer_python + actor_python:10.3f}"
        print(f"{path:8}{line}")


if __name__ == "__main__":
    main()
