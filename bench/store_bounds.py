"""How close the StateStore could come to the dict actor if either side's own work were free.

Run alone (it takes about five minutes)::

    python -m bench.store_bounds [--rounds 15]

The throughput section of `bench.store_concurrency` measures the store's
batch-of-100 throughput against the hand-written dict actor. This measures
the same thing along five paths, each round running all of them back to back
in alternating order, and reports the median of the per-round ratios
*dict / path*:

- ``store``: `StateStore.update_tasks`, everything the library does;
- ``prebuilt``: the store's actor sent requests built before the clock starts
  (`shell._store_requests.update_tasks`), so the writer's own work (parsing,
  the command, its digest and journal text) is free;
- ``idle actor``: the full handle against a store actor that checks the wire
  form and applies nothing, so the actor's own work is free;
- ``both free``: prebuilt requests to the idle actor: what is left is Ray's
  own cost of the store's call, a check of the harness (about 1.0).

The gap between ``store`` and 1.0 splits into the writer's share (``store``
against ``prebuilt``) and the actor's (``store`` against ``idle actor``).

Not part of ``python -m bench``: it measures no target of its own.
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

import ray

from bench.report import ratio
from bench.store_concurrency import AGENTS, BUDGET, PRICE, DictStore, _throughput
from core.ledger import Command, command_from_wire, create_store_command
from shell._changes import WAIT_GROUP, WAIT_THREADS
from shell._store_lifecycle import _StoreProcess
from shell._store_sending import StoreRequest
from shell.store import StateStore

__all__ = ["IdleStoreBody", "main"]

_CALLS = 120  # calls of 100 updates per writer: each run lasts about a second
_SIZE = 100


class IdleStoreBody(_StoreProcess):
    """A store actor that checks an update batch's wire form and applies nothing."""

    def execute(self, command: Command | list[Any]) -> Any:
        """Return the job's version for an update batch, unapplied; anything else as a store."""
        if isinstance(command, list):
            job_id = command_from_wire(command).args[0]
            return self.job_version(job_id)
        return super().execute(command)


def _idle_store() -> StateStore:
    """Start an `IdleStoreBody` actor with the store's options; return a handle on it."""
    create = create_store_command("idle-store", {"total_budget": BUDGET}, AGENTS)
    # The real store's concurrency groups and options, so only the work differs.
    remote: Any = ray.remote  # Ray's stubs omit the concurrency_groups keyword
    actor_class = remote(concurrency_groups={WAIT_GROUP: WAIT_THREADS})(IdleStoreBody)
    actor = actor_class.options(num_cpus=0, max_restarts=0, max_concurrency=1).remote(create)
    store = StateStore(actor, None, None, None)
    store._send(StoreRequest("ping", ()))
    return store


def _close_open_jobs(store: StateStore, closed: set[str]) -> None:
    """Take the jobs a round left in ``store`` out of its memory (``closed``: those already out)."""
    for job_id in store.list_jobs():
        if job_id not in closed:
            store.close_job(job_id)
            closed.add(job_id)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    rounds = parser.parse_args(argv).rounds
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    store = StateStore.create({"total_budget": BUDGET}, AGENTS)
    idle = _idle_store()
    plain = DictStore.remote(float(BUDGET), float(PRICE))
    closed: dict[str, set[str]] = {"store": set(), "idle": set()}
    try:
        ray.get(plain.ping.remote())
        # (name, writer kind, target, whether the target applies the updates)
        paths = [
            ("dict", "dict", plain, True),
            ("store", "store", store, True),
            ("prebuilt", "prebuilt", store, True),
            ("idle actor", "store", idle, False),
            ("both free", "prebuilt", idle, False),
        ]
        ratios: dict[str, list[float]] = {name: [] for name, *_ in paths[1:]}
        for round_no in range(rounds + 1):  # round 0 warms the worker processes up
            rate = {}
            for name, kind, target, applies in paths if round_no % 2 else paths[::-1]:
                rate[name] = _throughput(target, kind, _CALLS, _SIZE, round_no, applies)
            _close_open_jobs(store, closed["store"])
            _close_open_jobs(idle, closed["idle"])
            if round_no:
                for name in ratios:
                    ratios[name].append(ratio(rate["dict"], rate[name]))
    finally:
        store.shutdown()
        idle.shutdown()
        ray.kill(plain)
        ray.shutdown()
    print(f"dict / path, batches of {_SIZE}: median of {rounds} paired rounds (range)")
    for name, values in ratios.items():
        print(f"{name:12}{statistics.median(values):6.2f}x ({min(values):.2f}-{max(values):.2f})")


if __name__ == "__main__":
    main()
