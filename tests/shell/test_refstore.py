"""RefStore and StateStore speak one vocabulary (StateBackend): one scenario, equal results."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import pytest

from core.budget.reducers import ReservationDecision
from core.errors import BudgetError, InvalidTransitionError, InvalidUpdateError
from shell import (
    DuplicateJobError,
    InvalidArgumentError,
    RefStore,
    StateBackend,
    StateCache,
    StateManager,
    StateStore,
    StateUnavailable,
    UnknownJobError,
)
from shell.managers import default_cache

pytestmark = pytest.mark.usefixtures("fresh_shell")

BUDGET = {"total_budget": 3}
AGENTS = [{"name": "a", "price": 1}, {"name": "b", "price": "0.5", "max_total_spend": 1}]


def _scenario(backend: StateBackend) -> list[Any]:
    """One driver's run, written once against the protocol; returns everything it saw."""
    seen: list[Any] = []
    job_id = backend.create_job("audience", job_id="job-1")
    seen.append(job_id)
    seen.append(
        backend.add_tasks(job_id, [{"task_id": f"t{i}", "agent_name": "a"} for i in range(4)])
    )
    seen.append(backend.poll_job(job_id))
    for i, agent in enumerate(["a", "a", "b", "b", "b", "a", "a"]):
        seen.append(backend.reserve(agent, None, reservation_id=f"r{i}"))
    seen.append(backend.reserve("a", None, reservation_id="r0"))  # a retry: the first answer
    backend.release("a", "0.5")
    seen.append(backend.update_tasks(job_id, [{"task_id": "t0", "status": "running", "at": 1.0}]))
    seen.append(backend.update_tasks(job_id, [{"task_id": "t0", "status": "running", "at": 2.0}]))
    seen.append(
        backend.update_tasks(
            job_id,
            [
                {"task_id": "t0", "status": "completed", "result": {"n": [1, 2]}, "at": 3.0},
                {"task_id": "t1", "status": "failed", "error": "boom", "at": 4.0},
            ],
        )
    )
    backend.record_costs(
        [{"agent_name": "a", "expected": 1, "actual": "0.75", "job_id": "t0", "at": 5.0}]
    )
    backend.record_costs(
        [{"agent_name": "a", "expected": 1, "actual": "0.75", "job_id": "t0", "at": 5.0}]
    )
    for bad in (
        lambda: backend.update_tasks(job_id, [{"task_id": "t0", "status": "running"}]),
        lambda: backend.update_tasks(job_id, [{"task_id": "t2", "status": "bogus"}]),
        lambda: backend.create_job("again", job_id=job_id),
        lambda: backend.job_summary("nope"),
        lambda: backend.reserve("", None),
        lambda: backend.record_costs([{"agent_name": "a"}]),
    ):
        with pytest.raises(Exception) as info:
            bad()
        seen.append((type(info.value), info.value.field, info.value.index))
    version, summary = backend.poll_job(job_id)
    seen.append((version, summary, backend.poll_job(job_id, since_version=version)))
    seen.append(backend.job_summary(job_id))
    seen.append(backend.job_state(job_id).tasks["t0"])
    seen.append(backend.budget_summary())
    seen.append(backend.budget_state())
    return seen


def _without_creation_time(value: Any) -> Any:
    """Drop what depends on when each backend's clock read the job's creation."""
    if isinstance(value, dict):
        return {
            k: _without_creation_time(v)
            for k, v in value.items()
            if k not in ("created_at", "duration")
        }
    if isinstance(value, list):
        return [_without_creation_time(v) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_without_creation_time(v) for v in value)
    return value


def test_one_scenario_gives_equal_results_through_refs_and_the_store() -> None:
    """Changing the one line that makes the backend changes nothing the driver sees."""
    refs = RefStore.create(BUDGET, AGENTS)
    store = StateStore.create(BUDGET, AGENTS)
    try:
        through_refs, through_store = _scenario(refs), _scenario(store)
    finally:
        store.shutdown()
    assert _without_creation_time(through_refs) == _without_creation_time(through_store)
    decisions = [item for item in through_refs if isinstance(item, ReservationDecision)]
    assert [d.can_afford for d in decisions] == [True, True, True, True, False, False, False, True]
    errors = [
        item[0] for item in through_refs if isinstance(item, tuple) and isinstance(item[0], type)
    ]
    assert errors[:4] == [
        InvalidTransitionError,
        InvalidUpdateError,
        DuplicateJobError,
        UnknownJobError,
    ]
    assert errors[4:] == [InvalidArgumentError, BudgetError]


def test_both_backends_implement_the_protocol() -> None:
    """RefStore and StateStore are StateBackends at run time (mypy checks it statically)."""
    refs = RefStore.create(BUDGET, AGENTS)
    store = StateStore.create(BUDGET, AGENTS)
    try:
        assert isinstance(refs, StateBackend) and isinstance(store, StateBackend)
    finally:
        store.shutdown()


def test_injected_cache_and_clock_are_the_ones_used() -> None:
    """A RefStore reads and writes through its own cache and stamps with its own clock."""
    cache = StateCache()
    refs = RefStore.create(BUDGET, AGENTS, cache=cache, clock=lambda: 42.0)
    job_id = refs.create_job("audience")
    refs.add_tasks(job_id, [{"task_id": "t", "agent_name": "a"}])
    refs.update_tasks(job_id, [{"task_id": "t", "status": "running"}])
    assert refs.job_state(job_id).tasks["t"].started_at == 42.0
    assert refs.job_summary(job_id)["created_at"] == 42.0
    ref = refs.job_ref(job_id)
    assert cache.stats()["ray_gets"] == 0 and len(default_cache()) == 0
    assert StateManager.get_job_summary(ref, cache=cache)["running_tasks"] == 1
    assert len(default_cache()) == 0 and cache.stats()["ray_gets"] == 0


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: RefStore.create(BUDGET, AGENTS, cache={}), "cache"),
        (lambda: RefStore.create(BUDGET, AGENTS, clock=3), "clock"),
        (lambda: StateManager.get_job_summary(None, cache="x"), "cache"),
    ],
)
def test_bad_cache_or_clock_is_refused(make: Callable[[], Any], field: str) -> None:
    """A cache that is not a StateCache or a clock that is not callable is an argument error."""
    with pytest.raises(InvalidArgumentError) as info:
        make()
    assert info.value.field == field


def test_refstore_refuses_pickling_and_direct_construction() -> None:
    """A single-writer handle cannot be copied to another process, nor built by hand."""
    refs = RefStore.create(BUDGET, AGENTS)
    with pytest.raises(InvalidArgumentError):
        pickle.dumps(refs)
    with pytest.raises(InvalidArgumentError):
        RefStore(refs.budget_ref, StateCache(), float, object())


def test_shutdown_makes_every_call_unavailable() -> None:
    """After shutdown every call raises StateUnavailable; a second shutdown is harmless."""
    refs = RefStore.create(BUDGET, AGENTS)
    job_id = refs.create_job("audience")
    refs.shutdown()
    refs.shutdown()
    for call in (
        lambda: refs.job_summary(job_id),
        lambda: refs.create_job("x"),
        lambda: refs.reserve("a"),
        lambda: refs.budget_summary(),
    ):
        with pytest.raises(StateUnavailable):
            call()
