"""Fuzz every public method of `RefStore` with hostile arguments.

Each call returns or raises a `StateError`; a call that fails puts nothing
and leaves the handle's refs and versions as they were. The table is kept
complete by `test_every_public_refstore_method_is_fuzzed`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from properties.hostile import (
    call_refused_or_done,
    edge_amounts,
    hostile_batches,
    hostile_mappings,
    maybe_hostile,
)
from properties.strategies import (
    ALL_AGENT_NAMES,
    STATUS_VALUES,
    TASK_IDS,
    agent_configs,
    amounts,
    cost_records,
    reservation_ids,
    task_specs,
    valid_updates,
)

pytest.importorskip("ray")

from shell import RefStore, StateCache, ray_op_counts  # after the skip: the shell needs Ray

pytestmark = pytest.mark.usefixtures("ray_session")

FUZZ = settings(
    max_examples=max(5, settings().max_examples // 10),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_job_ids = maybe_hostile(st.just("job-a"))
_agents = maybe_hostile(st.sampled_from(ALL_AGENT_NAMES), odds=3)
_amounts = edge_amounts(amounts(max_cents=5_000))
_specs = hostile_mappings(st.sampled_from(TASK_IDS).flatmap(task_specs))
_updates = hostile_mappings(
    st.tuples(st.sampled_from(TASK_IDS), st.sampled_from(STATUS_VALUES)).flatmap(
        lambda pair: valid_updates(*pair)
    )
)
_configs = hostile_mappings(agent_configs().map(lambda c: c or {}))

Call = Callable[[st.DataObject, RefStore], Callable[[], Any]]
CALLS: dict[str, Call] = {
    "RefStore.create": lambda d, r: (
        lambda: RefStore.create(
            d.draw(maybe_hostile(st.just({"total_budget": "10"}))),
            d.draw(maybe_hostile(st.just([{"name": "alpha", "price": "1"}]))),
            cache=d.draw(maybe_hostile(st.none() | st.builds(StateCache))),
            clock=d.draw(maybe_hostile(st.none() | st.just(lambda: 1.0))),
        )
    ),
    "RefStore.create_job": lambda d, r: (
        lambda: r.create_job(
            d.draw(maybe_hostile(st.text(max_size=4))),
            d.draw(maybe_hostile(st.none() | st.just("job-a") | st.just("job-b"))),
        )
    ),
    "RefStore.add_tasks": lambda d, r: (
        lambda: r.add_tasks(d.draw(_job_ids), d.draw(hostile_batches(_specs)))
    ),
    "RefStore.update_tasks": lambda d, r: (
        lambda: r.update_tasks(d.draw(_job_ids), d.draw(hostile_batches(_updates)))
    ),
    "RefStore.job_summary": lambda d, r: lambda: r.job_summary(d.draw(_job_ids)),
    "RefStore.job_state": lambda d, r: lambda: r.job_state(d.draw(_job_ids)),
    "RefStore.job_ref": lambda d, r: lambda: r.job_ref(d.draw(_job_ids)),
    "RefStore.poll_job": lambda d, r: (
        lambda: r.poll_job(d.draw(_job_ids), d.draw(maybe_hostile(st.none() | st.just(1))))
    ),
    "RefStore.reserve": lambda d, r: (
        lambda: r.reserve(
            d.draw(_agents), d.draw(_configs), d.draw(maybe_hostile(st.none() | reservation_ids))
        )
    ),
    "RefStore.release": lambda d, r: lambda: r.release(d.draw(_agents), d.draw(_amounts)),
    "RefStore.record_costs": lambda d, r: (
        lambda: r.record_costs(d.draw(hostile_batches(hostile_mappings(cost_records()))))
    ),
    "RefStore.budget_summary": lambda d, r: lambda: r.budget_summary(),
    "RefStore.budget_state": lambda d, r: lambda: r.budget_state(),
    "RefStore.shutdown": lambda d, r: lambda: r.shutdown(),
}


def _public_methods() -> set[str]:
    return {
        f"RefStore.{name}"
        for name, member in inspect.getmembers(RefStore)
        if not name.startswith("_") and callable(member)
    }


def _fresh() -> RefStore:
    refs = RefStore.create({"total_budget": "10"}, [{"name": "alpha", "price": "1"}])
    refs.create_job("fuzz", "job-a")
    refs.add_tasks("job-a", [{"task_id": t, "agent_name": "alpha"} for t in TASK_IDS])
    return refs


def _state(refs: RefStore) -> Any:
    return refs._budget_ref, dict(refs._jobs), dict(refs._versions), refs._closed


def test_every_public_refstore_method_is_fuzzed() -> None:
    """The fuzz table names every public method of RefStore."""
    assert _public_methods() - set(CALLS) == set()


@pytest.mark.parametrize("name", sorted(CALLS))
@FUZZ
@given(data=st.data())
def test_hostile_refstore_calls_return_or_raise_a_state_error_and_change_nothing(
    name: str, data: st.DataObject
) -> None:
    """Each call returns or raises a StateError; a failure puts nothing and keeps every ref."""
    refs = _fresh()
    call = CALLS[name](data, refs)
    before, puts = _state(refs), ray_op_counts()["put"]
    done, _ = call_refused_or_done(call)
    if not done:
        assert ray_op_counts()["put"] == puts
        assert _state(refs) == before
