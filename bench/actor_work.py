"""The store actor's own work per batch of 100 updates, in one process without Ray.

Run alone (about a minute; not part of ``python -m bench``, it has no target)::

    python -m bench.actor_work [--rounds 7] [--against OTHER_CHECKOUT]

The throughput section of `bench.store_concurrency` follows the store
actor's thread, which runs its calls one at a time. This measures that
thread's work the way the actor meets it: 480 batches of 100 completions,
each arriving once as its wire text (`core.ledger.command_to_wire`) and
applied in order, one state after another, to a 48,000-task job of a store
that has applied 10,050 commands already (so its window of remembered
command ids is full and evicts at every command), with the collector tuned
as in the actor's process (`shell._heap`). A loop that applies one batch to
one state again and again would keep everything in the cache and hide what a
new state costs. Parts, in µs per batch:

- ``parse``: `core.ledger.command_from_wire` alone (``json.loads`` of the
  entry and its shape checks);
- ``apply``: `core.ledger.apply_command` of the parsed commands (the wire's
  column check, the lifecycle, the writes, the job's counts and the ledger's
  books);
- ``execute``: `shell.store_actor.StoreCore.execute` of the wire texts
  (parse, apply and the actor's own bookkeeping), on a store of its own.

Each round runs in a fresh process. With ``--against``, the same rounds run
on another checkout's code too (its path put first on ``PYTHONPATH``),
alternating with this one's, and the median of each part's per-round ratio
*this / other* is printed beside both medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["main"]

_TASKS = 48_000
_BATCH = 100
_FILLER = 10_050  # commands applied first: more than the window's 10,000
PARTS = ("parse", "apply", "execute")
_HERE = Path(__file__).resolve().parents[1]


def _one_round() -> dict[str, Any]:
    """Measure every part once, in this process; return µs per batch and the code measured."""
    from core.jobs.update_batch import parse_updates
    from core.ledger import (
        add_tasks_command,
        apply_command,
        command_from_wire,
        command_to_wire,
        create_job_command,
        create_store_command,
        update_tasks_command,
    )
    from shell._heap import collect_young_rarely
    from shell.store_actor import StoreCore

    collect_young_rarely()  # as the actor's process does
    tasks = [{"task_id": f"t{i}", "agent_name": "a"} for i in range(_TASKS)]

    def filled_store() -> StoreCore:
        store = StoreCore(
            create_store_command("s", {"total_budget": 50}, [{"name": "a", "price": 1}])
        )
        store.execute(create_job_command("create", "j", "actor work", 0.0))
        store.execute(add_tasks_command("add", "j", tasks))
        for n in range(_FILLER):
            store.execute(update_tasks_command(f"filler-{n}", "j", parse_updates([]), 1.0))
        return store

    def wires(tag: str) -> list[Any]:
        return [
            command_to_wire(
                update_tasks_command(
                    f"{tag}-{call}",
                    "j",
                    parse_updates(
                        [
                            {"task_id": f"t{call * _BATCH + i}", "status": "completed"}
                            for i in range(_BATCH)
                        ]
                    ),
                    2.0,
                )
            )
            for call in range(_TASKS // _BATCH)
        ]

    def per_batch(began: float, count: int) -> float:
        return (time.perf_counter() - began) / count * 1e6

    figures: dict[str, Any] = {}
    sent = wires("apply")
    began = time.perf_counter()
    commands = [command_from_wire(wire) for wire in sent]
    figures["parse"] = per_batch(began, len(sent))
    state = filled_store().state
    began = time.perf_counter()
    for command in commands:
        state = apply_command(state, command)[0]
    figures["apply"] = per_batch(began, len(commands))
    assert state.jobs["j"].status_counts["completed"] == _TASKS
    del state, commands

    store, sent = filled_store(), wires("execute")
    began = time.perf_counter()
    for wire in sent:
        store.execute(wire)
    figures["execute"] = per_batch(began, len(sent))
    assert store.state.jobs["j"].status_counts["completed"] == _TASKS
    figures["code"] = str(Path(sys.modules["core"].__file__ or "").parent.parent)
    return figures


def _round_in_process(checkout: Path) -> dict[str, Any]:
    """Run one round in a fresh interpreter whose code comes from ``checkout``."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--one-round"],
        env=env,
        cwd=checkout,
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--against", type=Path, default=None, help="another checkout to compare")
    parser.add_argument("--one-round", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one_round:
        print(json.dumps(_one_round()))
        return
    sides = [("this", _HERE)] + ([("other", args.against.resolve())] if args.against else [])
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in sides}
    for round_no in range(args.rounds):
        # Which side goes first alternates, so a drift of the machine favours neither.
        for name, checkout in sides if round_no % 2 == 0 else sides[::-1]:
            samples[name].append(_round_in_process(checkout))
    print(f"µs per batch of {_BATCH}, median of {args.rounds} rounds (range)")
    for name, rounds in samples.items():
        print(f"{name}: {rounds[0]['code']}")
    header = f"{'part':10}" + "".join(f"{name:>24}" for name in samples)
    print(header + (f"{'this / other':>16}" if args.against else ""))
    for part in PARTS:
        row = f"{part:10}"
        for rounds in samples.values():
            values = [r[part] for r in rounds]
            cell = f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"
            row += f"{cell:>24}"
        if args.against:
            ratios = [a[part] / b[part] for a, b in zip(*samples.values(), strict=True)]
            row += f"{statistics.median(ratios):>15.2f}x"
        print(row)


if __name__ == "__main__":
    main()
