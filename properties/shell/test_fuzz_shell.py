"""Fuzz every public method of the shell with hostile arguments, on the session's Ray.

The managers, `StateCache`, `StateBatcher` and `StateStore`: each call returns
or raises a `StateError`; a call that fails makes no ``ray.put``
(`shell.ray_op_counts`), leaves the store's job version and budget
unchanged, and leaves a batcher's queue as it was.
`test_every_public_shell_method_is_fuzzed` keeps the list complete.

Examples per method: a tenth of the profile's (``ci``: 20; ``thorough``: 200).

Left out on purpose, each owned by a fix on another branch (issue 15): ttl and
timeouts beyond what Ray accepts (point 12's ``10**400``, and ``timeout=1e30``
of point 7), ``flush_task_updates(ref, job_id=...)`` (point 5), compute and clock
functions that raise or return garbage (point 12), and the name ``"\\ud800"``
(point 12). Each is marked where it is left out; draw it again once that fix is merged.
"""

from __future__ import annotations

import inspect
import math
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import JobExecution
from properties.hostile import (
    call_refused_or_done,
    edge_amounts,
    held_data_is_frozen,
    hostile_batches,
    hostile_mappings,
    hostile_values,
    maybe_hostile,
)
from properties.strategies import (
    ALL_AGENT_NAMES,
    STATUS_VALUES,
    TASK_IDS,
    agent_configs,
    amounts,
    cost_records,
    json_values,
    reservation_ids,
    task_specs,
    timestamps,
    valid_updates,
)

ray = pytest.importorskip("ray")

from shell import (  # noqa: E402  (after the skip: the shell needs Ray)
    BudgetManager,
    StateBatcher,
    StateCache,
    StateManager,
    StateStore,
    ray_op_counts,
)
from shell.managers import default_cache  # noqa: E402

FUZZ = settings(
    max_examples=max(5, settings().max_examples // 10),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _bounded(value: Any) -> bool:
    """False for numbers beyond what Ray accepts as seconds (checked on another branch)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return True
    if isinstance(value, int):
        return abs(value) < 10**6
    return not math.isfinite(value) or abs(value) < 1e6


_task_ids = maybe_hostile(st.sampled_from(TASK_IDS), odds=3)
_agents = maybe_hostile(st.sampled_from(ALL_AGENT_NAMES), odds=3)
_data = maybe_hostile(json_values, odds=2)
_ats = maybe_hostile(st.none() | timestamps, odds=3)
_amounts = edge_amounts(amounts(max_cents=5_000))
_records = hostile_mappings(cost_records())
_specs = hostile_mappings(st.sampled_from(TASK_IDS).flatmap(task_specs))
_updates = hostile_mappings(
    st.tuples(st.sampled_from(TASK_IDS), st.sampled_from(STATUS_VALUES)).flatmap(
        lambda pair: valid_updates(*pair)
    )
)
_configs = hostile_mappings(agent_configs().map(lambda c: c or {}))
_seconds = st.one_of(st.floats(0.5, 30), hostile_values.filter(_bounded))
_names = hostile_values


def _long_wait(value: Any) -> bool:
    """True for a valid timeout long enough to slow the fuzz down."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return number and (isinstance(value, int) or math.isfinite(value)) and value > 0.05


_short_waits = st.floats(0, 0.05) | hostile_values.filter(lambda value: not _long_wait(value))
_agents_config = hostile_batches(
    hostile_mappings(st.fixed_dictionaries({"name": st.sampled_from(ALL_AGENT_NAMES)}))
)


class _World:
    """What the fuzzed calls work on: refs of each kind, a store with one job, counters."""

    def __init__(self) -> None:
        _, job_ref = StateManager.create_job_execution("fuzz", job_id="job-a")
        self.job_ref = StateManager.add_agent_tasks(
            job_ref, [{"task_id": t, "agent_name": "alpha"} for t in TASK_IDS]
        )
        self.budget_ref = BudgetManager.initialize_budget(
            {"total_budget": "100"}, [{"name": "alpha", "price": "1"}]
        )
        self.int_ref = ray.put(5)

        @ray.remote
        def broken() -> None:
            raise KeyError("the producing task failed")

        self.failed_ref = broken.remote()
        self.store = StateStore.create({"total_budget": "100"}, [{"name": "alpha", "price": "1"}])
        self.store.create_job("fuzz", "job-a")
        self.store.add_tasks("job-a", [{"task_id": t, "agent_name": "alpha"} for t in TASK_IDS])

    def refs(self) -> st.SearchStrategy[Any]:
        known = st.sampled_from((self.job_ref, self.budget_ref, self.int_ref, self.failed_ref))
        return maybe_hostile(known, odds=2)

    def store_state(self) -> tuple[int, Any]:
        version, _ = self.store.poll_job("job-a")
        return version, self.store.budget_state()


@pytest.fixture(scope="module")
def world(ray_session: Any) -> Iterator[_World]:
    """The refs and the store every fuzzed call of this module works on."""
    made = _World()
    yield made
    made.store.shutdown()


Draw = Callable[[st.DataObject, _World], Callable[[], Any]]


def _batcher(d: st.DataObject) -> StateBatcher:
    batcher = StateBatcher(clock=lambda: 1.0)
    for task_id in d.draw(st.lists(st.sampled_from(TASK_IDS), max_size=2)):
        batcher.add_task_update(task_id, "running")
    return batcher


def _on_batcher(method: str, *args: Callable[[st.DataObject, _World], Any]) -> Draw:
    """Draw a batcher with items queued and the method's arguments; the thunk keeps the batcher."""

    def draw(d: st.DataObject, w: _World) -> Callable[[], Any]:
        batcher = _batcher(d)
        values = [arg(d, w) for arg in args]

        def thunk() -> Any:
            return getattr(batcher, method)(*values)

        thunk.batcher = batcher  # type: ignore[attr-defined]
        return thunk

    return draw


def _flush_target(d: st.DataObject, w: _World) -> Any:
    return d.draw(st.one_of(w.refs(), st.just(w.store)))


def _flush_job_id(d: st.DataObject, w: _World) -> Any:
    # A job_id with a ref target is issue 15 point 5, fixed on the "shape" branch.
    return d.draw(maybe_hostile(st.just("job-a")))


def _flush_tasks(d: st.DataObject, w: _World) -> Callable[[], Any]:
    if d.draw(st.booleans()):
        return _on_batcher("flush_task_updates", lambda d, w: w.store, _flush_job_id)(d, w)
    return _on_batcher("flush_task_updates", lambda d, w: d.draw(w.refs()))(d, w)


def _bound_batcher(method: str) -> Draw:
    """A batcher bound to the store with a drawn (maybe hostile) policy, then ``method()``.

    Made inside the call, so a hostile argument is refused by the constructor under test.
    """

    def draw(d: st.DataObject, w: _World) -> Callable[[], Any]:
        job_id = d.draw(maybe_hostile(st.just("job-a")))
        max_items = d.draw(maybe_hostile(st.none() | st.integers(1, 3)))
        max_delay = d.draw(maybe_hostile(st.none() | st.just(1.0)))
        task_ids = d.draw(st.lists(st.sampled_from(TASK_IDS), max_size=2))

        def thunk() -> Any:
            batcher = StateBatcher(
                clock=lambda: 1.0,
                backend=w.store,
                job_id=job_id,
                max_items=max_items,
                max_delay=max_delay,
                timer=lambda: 5.0,
            )
            for task_id in task_ids:
                batcher.add_task_update(task_id, "running")
            return getattr(batcher, method)()

        return thunk

    return draw


SHELL_CALLS: dict[str, Draw] = {
    "StateManager.create_job_execution": lambda d, w: (
        lambda: StateManager.create_job_execution(
            d.draw(maybe_hostile(st.text(max_size=4))),
            d.draw(maybe_hostile(st.none() | st.just(f"job-{uuid.uuid4().hex}"))),
        )
    ),
    "StateManager.add_agent_task": lambda d, w: (
        lambda: StateManager.add_agent_task(d.draw(w.refs()), d.draw(_specs))
    ),
    "StateManager.add_agent_tasks": lambda d, w: (
        lambda: StateManager.add_agent_tasks(d.draw(w.refs()), d.draw(hostile_batches(_specs)))
    ),
    "StateManager.batch_update_tasks": lambda d, w: (
        lambda: StateManager.batch_update_tasks(d.draw(w.refs()), d.draw(hostile_batches(_updates)))
    ),
    "StateManager.get_job_execution": lambda d, w: (
        lambda: StateManager.get_job_execution(d.draw(w.refs()))
    ),
    "StateManager.get_job_summary": lambda d, w: (
        lambda: StateManager.get_job_summary(d.draw(w.refs()))
    ),
    "StateManager.get_results": lambda d, w: lambda: StateManager.get_results(d.draw(w.refs())),
    "BudgetManager.initialize_budget": lambda d, w: (
        lambda: BudgetManager.initialize_budget(
            d.draw(
                hostile_mappings(st.fixed_dictionaries({}, optional={"total_budget": amounts()}))
            ),
            d.draw(_agents_config),
        )
    ),
    "BudgetManager.check_and_reserve_budget": lambda d, w: (
        lambda: BudgetManager.check_and_reserve_budget(
            d.draw(w.refs()),
            d.draw(_agents),
            d.draw(_configs),
            d.draw(maybe_hostile(st.none() | reservation_ids)),
        )
    ),
    "BudgetManager.release_reservation": lambda d, w: (
        lambda: BudgetManager.release_reservation(
            d.draw(w.refs()), d.draw(_agents), d.draw(_amounts)
        )
    ),
    "BudgetManager.batch_record_costs": lambda d, w: (
        lambda: BudgetManager.batch_record_costs(
            d.draw(w.refs()), d.draw(hostile_batches(_records))
        )
    ),
    "BudgetManager.get_budget_summary": lambda d, w: (
        lambda: BudgetManager.get_budget_summary(d.draw(w.refs()))
    ),
    "BudgetManager.get_budget_state": lambda d, w: (
        lambda: BudgetManager.get_budget_state(d.draw(w.refs()))
    ),
    "StateCache.__init__": lambda d, w: (
        lambda: StateCache(
            d.draw(_seconds), d.draw(maybe_hostile(st.integers(1, 10))), d.draw(hostile_values)
        )
    ),
    "StateCache.get": lambda d, w: (
        lambda: StateCache().get(
            d.draw(w.refs()), d.draw(maybe_hostile(st.sampled_from((None, type))))
        )
    ),
    "StateCache.get_many": lambda d, w: (
        lambda: StateCache().get_many(
            d.draw(hostile_batches(w.refs())), d.draw(maybe_hostile(st.sampled_from((None, type))))
        )
    ),
    "StateCache.remember": lambda d, w: (
        lambda: StateCache().remember(d.draw(w.refs()), d.draw(hostile_values))
    ),
    "StateCache.invalidate": lambda d, w: lambda: StateCache().invalidate(d.draw(w.refs())),
    "StateCache.holds": lambda d, w: lambda: StateCache().holds(d.draw(w.refs())),
    "StateCache.stats": lambda d, w: lambda: StateCache().stats(),
    "StateCache.sweep": lambda d, w: lambda: StateCache().sweep(),
    "StateBatcher.__init__": lambda d, w: lambda: StateBatcher(d.draw(hostile_values)),
    "StateBatcher.add_task_update": _on_batcher(
        "add_task_update",
        lambda d, w: d.draw(_task_ids),
        lambda d, w: d.draw(maybe_hostile(st.sampled_from(STATUS_VALUES))),
        lambda d, w: d.draw(_data),
        lambda d, w: d.draw(maybe_hostile(st.none() | st.text(max_size=3))),
        lambda d, w: d.draw(_ats),
    ),
    "StateBatcher.add_cost_record": _on_batcher(
        "add_cost_record",
        lambda d, w: d.draw(_agents),
        lambda d, w: d.draw(_amounts),
        lambda d, w: d.draw(_amounts),
        lambda d, w: d.draw(_task_ids),
        lambda d, w: d.draw(_ats),
    ),
    "StateBatcher.flush_task_updates": _flush_tasks,
    "StateBatcher.flush_budget_updates": _on_batcher("flush_budget_updates", _flush_target),
    "StateBatcher.pending": _on_batcher("pending"),
    "StateBatcher.clear": _on_batcher("clear"),
    "StateBatcher.flush": _bound_batcher("flush"),
    "StateBatcher.flush_if_due": _bound_batcher("flush_if_due"),
    "StateBatcher.close": _bound_batcher("close"),
    "StateStore.create_job": lambda d, w: (
        lambda: w.store.create_job(
            d.draw(maybe_hostile(st.text(max_size=4))),
            d.draw(maybe_hostile(st.none() | st.just("job-a") | st.just(uuid.uuid4().hex))),
        )
    ),
    "StateStore.add_tasks": lambda d, w: (
        lambda: w.store.add_tasks(
            d.draw(maybe_hostile(st.just("job-a"))), d.draw(hostile_batches(_specs))
        )
    ),
    "StateStore.update_tasks": lambda d, w: (
        lambda: w.store.update_tasks(
            d.draw(maybe_hostile(st.just("job-a"))), d.draw(hostile_batches(_updates))
        )
    ),
    "StateStore.job_summary": lambda d, w: (
        lambda: w.store.job_summary(d.draw(maybe_hostile(st.just("job-a"))))
    ),
    "StateStore.job_state": lambda d, w: (
        lambda: w.store.job_state(d.draw(maybe_hostile(st.just("job-a"))))
    ),
    "StateStore.poll_job": lambda d, w: (
        lambda: w.store.poll_job(
            d.draw(maybe_hostile(st.just("job-a"))), d.draw(maybe_hostile(st.none() | st.just(1)))
        )
    ),
    "StateStore.reserve": lambda d, w: (
        lambda: w.store.reserve(
            d.draw(_agents), d.draw(_configs), d.draw(maybe_hostile(st.none() | reservation_ids))
        )
    ),
    "StateStore.release": lambda d, w: lambda: w.store.release(d.draw(_agents), d.draw(_amounts)),
    "StateStore.record_costs": lambda d, w: (
        lambda: w.store.record_costs(d.draw(hostile_batches(_records)))
    ),
    "StateStore.budget_summary": lambda d, w: lambda: w.store.budget_summary(),
    "StateStore.budget_state": lambda d, w: lambda: w.store.budget_state(),
    "StateStore.connect": lambda d, w: (
        lambda: StateStore.connect(
            d.draw(_names), d.draw(maybe_hostile(st.none())), d.draw(_seconds)
        )
    ),
    "StateStore.close_job": lambda d, w: (
        lambda: w.store.close_job(d.draw(maybe_hostile(st.just("no-such-job"))))
    ),
    "StateStore.info": lambda d, w: lambda: w.store.info(),
    "StateStore.list_jobs": lambda d, w: lambda: w.store.list_jobs(),
    "StateStore.wait_job": lambda d, w: (
        lambda: w.store.wait_job(
            d.draw(maybe_hostile(st.just("job-a"))),
            d.draw(maybe_hostile(st.none() | st.integers(1, 3))),
            d.draw(_short_waits),
        )
    ),
    "StateStore.wait_budget": lambda d, w: (
        lambda: w.store.wait_budget(
            d.draw(maybe_hostile(st.none() | st.integers(1, 3))), d.draw(_short_waits)
        )
    ),
    "StateStore.recover": lambda d, w: (
        lambda: StateStore.recover(
            d.draw(_names), d.draw(maybe_hostile(st.just("sqlite:///relative/path.db")))
        )
    ),
    "StateStore.create": lambda d, w: _create(d),
}


def _create(d: st.DataObject) -> Callable[[], Any]:
    """StateStore.create with one argument drawn hostile (a valid call starts an actor)."""
    args: list[Any] = [
        d.draw(hostile_mappings(st.just({}))),
        d.draw(_agents_config),
        d.draw(st.none() | st.just(f"fuzz-{uuid.uuid4().hex}")),
        None,
        False,
        d.draw(st.none() | st.floats(0.5, 30)),
    ]
    args[d.draw(st.integers(0, len(args) - 1))] = d.draw(_names.filter(_bounded))
    return lambda: _created_and_shut(*args)


def _created_and_shut(*args: Any) -> None:
    """StateStore.create; a store that did start is shut down again at once."""
    StateStore.create(*args).shutdown()


def public_shell_methods() -> set[str]:
    """``Class.method`` for every public method (and constructor) of the shell's classes."""
    names: set[str] = set()
    for cls in (StateManager, BudgetManager, StateCache, StateBatcher, StateStore):
        for name, member in inspect.getmembers(cls):
            if (not name.startswith("_") or name == "__init__") and callable(member):
                if name == "__init__" and cls in (StateManager, BudgetManager, StateStore):
                    continue  # no constructor of their own: static methods / factories
                names.add(f"{cls.__name__}.{name}")
    return names - {"StateStore.shutdown"}  # fuzzed through StateStore.create


def test_every_public_shell_method_is_fuzzed() -> None:
    """The fuzz table names every public method of the managers, cache, batcher and store."""
    assert public_shell_methods() - set(SHELL_CALLS) == set()


@pytest.mark.parametrize("name", sorted(SHELL_CALLS))
@FUZZ
@given(data=st.data())
def test_hostile_shell_calls_return_or_raise_a_state_error_and_put_nothing(
    world: _World, name: str, data: st.DataObject
) -> None:
    """Each call returns or raises a StateError; a failure puts nothing and changes no state."""
    if name not in public_shell_methods():
        pytest.skip(f"{name} is no longer public")
    call = SHELL_CALLS[name](data, world)
    default_cache().invalidate()
    batcher = getattr(call, "batcher", None)
    queued = None if batcher is None else batcher.pending()
    puts = ray_op_counts()["put"]
    store_before = world.store_state() if name.startswith("StateStore.") else None
    done, outcome = call_refused_or_done(call)
    if not done:
        assert ray_op_counts()["put"] == puts
        if store_before is not None:
            assert world.store_state() == store_before
        if batcher is not None:
            assert batcher.pending() == queued
    elif isinstance(outcome, JobExecution):
        assert held_data_is_frozen(outcome)
