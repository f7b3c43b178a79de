"""How close the StateStore could come to the dict actor if either side's own work were free.

Run alone (it takes about ten minutes)::

    python -m bench.store_bounds [--rounds 15]

The throughput section of `bench.store_concurrency` measures the store's
batch-of-100 throughput against the hand-written dict actor. This measures
the same thing along seven paths, each round running all of them back to back
in alternating order, and reports the median of the per-round ratios
*dict / path*:

- ``store``: `StateStore.update_tasks`, everything the library does;
- ``prebuilt``: the store's actor sent requests built before the clock starts
  (`shell._store_requests.update_tasks`), so the writer's own work (parsing,
  the command, its digest and journal text) is free;
- ``idle actor``: the full handle against a store actor that checks the wire
  form and applies nothing, so the actor's own work is free;
- ``both free``: prebuilt requests to the idle actor: what is left is Ray's
  own cost of the store's call;
- ``mutable actor``: the full handle against `MutableStoreBody`, a sketch of
  the one design change left (a job's tasks mutable inside the actor, not
  persistent values), which keeps the checks that matter to the cost;
- ``mutable, prebuilt``: the same actor sent prebuilt requests.

The gap between ``both free`` and ``store`` splits into the writer's share
(``store`` against ``prebuilt``) and the actor's (``store`` against ``idle actor``).

Not part of ``python -m bench``: it measures no target of its own.
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

import ray

from bench.report import ratio
from bench.store_concurrency import AGENTS, BUDGET, PRICE, DictStore, _throughput
from core.errors import InvalidTransitionError, UnknownTaskError
from core.jobs._columns import stamped_columns, to_update_columns
from core.jobs.status import ALLOWED_TRANSITIONS, TERMINAL_STATUSES, TaskStatus
from core.ledger import Command, command_from_wire, create_store_command
from core.ledger._window import ReplyWindow
from core.ledger.state import Remembered
from shell._changes import WAIT_GROUP, WAIT_THREADS
from shell._store_lifecycle import _StoreProcess
from shell._store_sending import StoreRequest
from shell.store import StateStore

__all__ = ["IdleStoreBody", "MutableStoreBody", "main"]

_CALLS = 120  # calls of 100 updates per writer: each run lasts about a second
_SIZE = 100


class IdleStoreBody(_StoreProcess):
    """A store actor that checks an update batch's wire form and applies nothing."""

    def execute(self, command: Command | str) -> Any:
        """Return the job's version for an update batch, unapplied; anything else as a store."""
        if isinstance(command, str):
            job_id = command_from_wire(command).args[0]
            return self.job_version(job_id)
        return super().execute(command)


class MutableStoreBody(_StoreProcess):
    """A sketch, not the library: update batches applied to mutable per-job dicts.

    It keeps what costs the store's actor time and would stay in any design:
    the wire's shape and column checks, the lifecycle's transitions, a batch
    applied all or none, status counts, a version per job and a window of
    remembered command ids. It skips what would not change the cost much:
    a finished job's ``completed_at``, counts per round, errors naming the
    update's index, and a journal. Tasks are copied into dicts when added.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per job: task id -> [status, result, error, started_at, completed_at].
        self._tasks: dict[str, dict[str, list[Any]]] = {}
        self._counts: dict[str, dict[TaskStatus, int]] = {}
        self._versions: dict[str, int] = {}
        self._replies = ReplyWindow[Remembered](10_000)

    def execute(self, command: Command | str) -> Any:
        """Apply an update batch to the dicts; anything else as the store does."""
        if not isinstance(command, str):
            reply = super().execute(command)
            if command.kind == "add_tasks":
                self._copy_job(command.args[0])
            elif command.kind == "close_job":
                del self._tasks[command.args[0]], self._counts[command.args[0]]
            return reply
        update = command_from_wire(command)
        earlier = self._replies.get(update.command_id)
        if earlier is not None:
            return earlier.reply
        job_id, columns = update.args
        if update.at is not None:
            columns = stamped_columns(columns, update.at)
        self._apply(job_id, to_update_columns(columns))
        version = self._versions[job_id] = self._versions[job_id] + 1
        self._replies = self._replies.add(update.command_id, Remembered(update.digest, version))
        return version

    def job_summary(self, job_id: str) -> dict[str, Any]:
        """The store's summary, with the counts the dicts keep (enough to check the run)."""
        summary = super().job_summary(job_id)
        counts = self._counts.get(job_id)
        if counts is not None:
            summary.update({f"{status.value}_tasks": n for status, n in counts.items()})
        return summary

    def _copy_job(self, job_id: str) -> None:
        assert self._state is not None
        job = self._state.jobs[job_id]
        self._tasks[job_id] = {
            r.task_id: [r.status, r.result, r.error, r.started_at, r.completed_at]
            for r in job.tasks.values()
        }
        self._counts[job_id] = {status: job.status_counts[status] for status in TaskStatus}
        self._versions[job_id] = self._state.versions[job_id]

    def _apply(self, job_id: str, columns: Any) -> None:
        tasks, counts = self._tasks[job_id], self._counts[job_id]
        undo: list[tuple[list[Any], list[Any]]] = []
        moves: list[tuple[TaskStatus, TaskStatus]] = []
        try:
            for task_id, status, result, error, at in zip(*columns, strict=True):
                task = tasks.get(task_id)
                if task is None:
                    raise UnknownTaskError(f"no task {task_id!r}", field="task_id", value=task_id)
                current = task[0]
                if status is current:
                    continue
                if status not in ALLOWED_TRANSITIONS[current]:
                    raise InvalidTransitionError(
                        f"{current} -> {status}", field="status", value=status
                    )
                undo.append((task, task[:]))
                moves.append((current, status))
                task[0] = status
                if status is TaskStatus.RUNNING:
                    if task[3] is None:
                        task[3] = at
                elif status in TERMINAL_STATUSES:
                    task[4] = at
                if result is not None:
                    task[1] = result
                if error is not None:
                    task[2] = error
        except Exception:
            for task, before in reversed(undo):
                task[:] = before
            raise
        for old, new in moves:
            counts[old] -= 1
            counts[new] += 1


def _start(body: type[_StoreProcess], name: str) -> StateStore:
    """Start ``body`` as an actor with the store's options; return a handle on it."""
    create = create_store_command(name, {"total_budget": BUDGET}, AGENTS)
    # The real store's concurrency groups and options, so only the work differs.
    remote: Any = ray.remote  # Ray's stubs omit the concurrency_groups keyword
    actor_class = remote(concurrency_groups={WAIT_GROUP: WAIT_THREADS})(body)
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
    stores = {
        "store": StateStore.create({"total_budget": BUDGET}, AGENTS),
        "idle": _start(IdleStoreBody, "idle"),
        "mutable": _start(MutableStoreBody, "mutable"),
    }
    plain = DictStore.remote(float(BUDGET), float(PRICE))
    closed: dict[str, set[str]] = {name: set() for name in stores}
    try:
        ray.get(plain.ping.remote())
        # (name, writer kind, target, whether the target applies the updates)
        paths = [
            ("dict", "dict", plain, True),
            ("store", "store", stores["store"], True),
            ("prebuilt", "prebuilt", stores["store"], True),
            ("idle actor", "store", stores["idle"], False),
            ("both free", "prebuilt", stores["idle"], False),
            ("mutable actor", "store", stores["mutable"], True),
            ("mutable, prebuilt", "prebuilt", stores["mutable"], True),
        ]
        ratios: dict[str, list[float]] = {name: [] for name, *_ in paths[1:]}
        for round_no in range(rounds + 1):  # round 0 warms the worker processes up
            rate = {}
            for name, kind, target, applies in paths if round_no % 2 else paths[::-1]:
                rate[name] = _throughput(target, kind, _CALLS, _SIZE, round_no, applies)
            for store_name, store in stores.items():
                _close_open_jobs(store, closed[store_name])
            if round_no:
                for name in ratios:
                    ratios[name].append(ratio(rate["dict"], rate[name]))
    finally:
        for store in stores.values():
            store.shutdown()
        ray.kill(plain)
        ray.shutdown()
    print(f"dict / path, batches of {_SIZE}: median of {rounds} paired rounds (range)")
    for name, values in ratios.items():
        print(f"{name:19}{statistics.median(values):6.2f}x ({min(values):.2f}-{max(values):.2f})")


if __name__ == "__main__":
    main()
