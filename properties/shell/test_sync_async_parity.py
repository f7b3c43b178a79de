"""The same scenario through the sync and the async API gives the same results and errors.

Hypothesis draws a scenario (valid and invalid calls mixed); it runs against a
`StateStore` and an `AsyncStateStore` made alike, and through the ref-path
managers and their async twins; every result and every error (type, field,
index, message) must match, call by call.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import StateError
from shell.aio import AsyncBudgetManager, AsyncStateManager, AsyncStateStore
from shell.managers import BudgetManager, StateManager
from shell.store import StateStore

pytestmark = pytest.mark.usefixtures("ray_session")

AGENTS = [{"name": "a", "price": 1}, {"name": "b", "price": "2.5"}]
BUDGET = {"total_budget": 12}
# Fields stamped from each process's own clock at create time: they differ by design.
CLOCK_FIELDS = ("created_at", "duration")

STATUSES = st.sampled_from(["running", "completed", "failed", "pending", "nope"])
TASK = st.integers(0, 5)
AGENT = st.sampled_from(["a", "b", "zz", ""])
AMOUNT = st.sampled_from([1, "0.5", -1, "x", None])
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.lists(TASK, max_size=3)),
        st.tuples(st.just("update"), st.lists(st.tuples(TASK, STATUSES), max_size=3)),
        st.tuples(st.just("reserve"), AGENT, st.sampled_from([None, "r1", "r2"])),
        st.tuples(st.just("release"), AGENT, AMOUNT),
        st.tuples(st.just("record"), AGENT, AMOUNT, st.sampled_from(["c1", "c2"])),
        st.tuples(st.just("summary"), st.sampled_from(["job", "missing", 7])),
        st.tuples(st.just("poll"), st.sampled_from([None, 1, 2, "1"])),
        st.tuples(st.just("budget")),
    ),
    max_size=8,
)
_jobs = itertools.count()


def _plain(value: Any) -> Any:
    """A comparable form of a result: summaries lose their clock fields; refs become a marker."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in CLOCK_FIELDS}
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if type(value).__name__ == "ObjectRef":
        return "<ref>"
    if hasattr(value, "items") and hasattr(value, "keys"):
        return _plain(dict(value))
    return value


def _error(err: StateError) -> tuple[Any, ...]:
    return ("error", type(err).__name__, err.field, err.index, str(err))


def _calls(op: tuple[Any, ...], job_id: str) -> tuple[str, tuple[Any, ...]]:
    """The store method and arguments of one drawn operation."""
    kind = op[0]
    if kind == "add":
        return "add_tasks", (job_id, [{"task_id": f"t{i}", "agent_name": "a"} for i in op[1]])
    if kind == "update":
        updates = [{"task_id": f"t{i}", "status": s, "at": 5.0} for i, s in op[1]]
        return "update_tasks", (job_id, updates)
    if kind == "reserve":
        return "reserve", (op[1], None, op[2])
    if kind == "release":
        return "release", (op[1], op[2])
    if kind == "record":
        record = {"agent_name": op[1], "expected": 1, "actual": op[2], "job_id": op[3], "at": 1.0}
        return "record_costs", ([record],)
    if kind == "summary":
        return "job_summary", (job_id if op[1] == "job" else op[1],)
    if kind == "poll":
        return "poll_job", (job_id, op[1])
    return "budget_summary", ()


@pytest.fixture(scope="module")
def stores() -> Iterator[tuple[StateStore, AsyncStateStore]]:
    """A sync store and an async store made alike, shared by every example."""
    sync = StateStore.create(BUDGET, AGENTS)
    twin = asyncio.run(AsyncStateStore.create(BUDGET, AGENTS))
    yield sync, twin
    sync.shutdown()
    asyncio.run(twin.shutdown())


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=OPS)
def test_store_and_async_store_agree(
    stores: tuple[StateStore, AsyncStateStore], ops: list[tuple[Any, ...]]
) -> None:
    """Every call of a drawn scenario returns (or raises) the same through both store handles."""
    sync, twin = stores
    job_id = f"job{next(_jobs)}"

    def run_sync() -> list[Any]:
        outcomes: list[Any] = [sync.create_job("x", job_id=job_id)]
        for op in ops:
            method, args = _calls(op, job_id)
            try:
                outcomes.append(_plain(getattr(sync, method)(*args)))
            except StateError as err:
                outcomes.append(_error(err))
        return outcomes

    async def run_async() -> list[Any]:
        outcomes: list[Any] = [await twin.create_job("x", job_id=job_id + "-async")]
        for op in ops:
            method, args = _calls(op, job_id + "-async")
            try:
                outcomes.append(_plain(await getattr(twin, method)(*args)))
            except StateError as err:
                outcomes.append(_error(err))
        return outcomes

    expected = run_sync()
    got = asyncio.run(run_async())
    assert [_rename(o, job_id + "-async", job_id) for o in got] == expected


def _rename(value: Any, old: str, new: str) -> Any:
    """The async run uses its own job id; map it back for the comparison."""
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, dict):
        return {k: _rename(v, old, new) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_rename(v, old, new) for v in value)
    return value


@settings(max_examples=15, deadline=None)
@given(ops=OPS)
def test_managers_and_async_managers_agree(ops: list[tuple[Any, ...]]) -> None:
    """The ref-path managers and their async twins agree call by call on a drawn scenario."""

    def sync_step(refs: dict[str, Any], method: str, args: tuple[Any, ...]) -> Any:
        job, budget = refs["job"], refs["budget"]
        if method == "add_tasks":
            refs["job"] = StateManager.add_agent_tasks(job, args[1])
        elif method == "update_tasks":
            refs["job"] = StateManager.batch_update_tasks(job, args[1])
        elif method == "reserve":
            *answer, refs["budget"] = BudgetManager.check_and_reserve_budget(budget, *args)
            return tuple(answer)
        elif method == "release":
            refs["budget"] = BudgetManager.release_reservation(budget, *args)
        elif method == "record_costs":
            refs["budget"] = BudgetManager.batch_record_costs(budget, *args)
        elif method in ("job_summary", "poll_job"):
            return StateManager.get_job_summary(job)
        else:
            return BudgetManager.get_budget_summary(budget)
        return None

    async def async_step(refs: dict[str, Any], method: str, args: tuple[Any, ...]) -> Any:
        job, budget = refs["job"], refs["budget"]
        if method == "add_tasks":
            refs["job"] = await AsyncStateManager.add_agent_tasks(job, args[1])
        elif method == "update_tasks":
            refs["job"] = await AsyncStateManager.batch_update_tasks(job, args[1])
        elif method == "reserve":
            *answer, refs["budget"] = await AsyncBudgetManager.check_and_reserve_budget(
                budget, *args
            )
            return tuple(answer)
        elif method == "release":
            refs["budget"] = await AsyncBudgetManager.release_reservation(budget, *args)
        elif method == "record_costs":
            refs["budget"] = await AsyncBudgetManager.batch_record_costs(budget, *args)
        elif method in ("job_summary", "poll_job"):
            return await AsyncStateManager.get_job_summary(job)
        else:
            return await AsyncBudgetManager.get_budget_summary(budget)
        return None

    def outcome(call: Any) -> Any:
        try:
            return _plain(call())
        except StateError as err:
            return _error(err)

    def run_sync() -> list[Any]:
        refs = {
            "job": StateManager.create_job_execution("x", job_id="J")[1],
            "budget": BudgetManager.initialize_budget(BUDGET, AGENTS),
        }
        return [outcome(lambda op=op: sync_step(refs, *_calls(op, "J"))) for op in ops]

    async def run_async() -> list[Any]:
        refs = {
            "job": (await AsyncStateManager.create_job_execution("x", job_id="J"))[1],
            "budget": await AsyncBudgetManager.initialize_budget(BUDGET, AGENTS),
        }
        outcomes = []
        for op in ops:
            try:
                outcomes.append(_plain(await async_step(refs, *_calls(op, "J"))))
            except StateError as err:
                outcomes.append(_error(err))
        return outcomes

    assert asyncio.run(run_async()) == run_sync()
