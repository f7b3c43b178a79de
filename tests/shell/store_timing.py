"""Make a store call time out for certain: keep the store's actor busy meanwhile."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import ray

from shell.errors import UnknownJobError
from shell.store import StateStore

__all__ = ["IMPATIENT", "impatient", "occupied"]

# Shorter than any actor call; on its own not enough (a reply can beat ray.get's
# first look), hence `occupied`.
IMPATIENT = 1e-6
_BUSY_JOB = "busy"
_BUSY_TASKS = 20_000


def impatient(store: StateStore) -> StateStore:
    """Another handle on ``store`` whose every call gives up at once (connect would, too)."""
    return StateStore(store._actor, store._name, None, IMPATIENT)


@contextmanager
def occupied(store: StateStore) -> Iterator[None]:
    """Keep an in-memory ``store``'s actor busy in the block: calls made there queue behind.

    It ships a 20,000-task job (``job_state``, tens of milliseconds); the job is
    added to the store the first time.
    """
    try:
        store.job_summary(_BUSY_JOB)
    except UnknownJobError:
        store.create_job("keeps the actor busy", job_id=_BUSY_JOB)
        store.add_tasks(
            _BUSY_JOB, [{"task_id": f"b{i}", "agent_name": "a"} for i in range(_BUSY_TASKS)]
        )
    busy: Any = store._actor.job_state.remote(_BUSY_JOB)
    try:
        yield
    finally:
        ray.get(busy)
