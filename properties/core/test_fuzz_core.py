"""Fuzz every public function of the core with hostile arguments.

Each call either returns or raises a `StateError` (nothing else escapes,
not even from building the error's message); a call that fails leaves every
state it was given unchanged; a job that comes back holds only frozen data.
`test_every_public_core_function_is_fuzzed` keeps the list complete.

Examples per function: a quarter of the profile's (``ci``: 50, so the core's
fuzz runs in seconds; ``thorough``: 500).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import core
from core import (
    BudgetCalculator,
    BudgetState,
    JobExecution,
    PendingBatch,
    TaskRecord,
    TaskStatus,
    TaskUpdate,
    add_cost_record,
    add_task_update,
    empty_batch,
)
from core.ledger import (
    add_tasks_command,
    close_job_command,
    create_job_command,
    create_store_command,
    open_ledger,
    reserve_command,
)
from properties.hostile import (
    call_refused_or_done,
    edge_amounts,
    held_data_is_frozen,
    hostile_batches,
    hostile_mappings,
    maybe_hostile,
    snapshot,
)
from properties.strategies import (
    ALL_AGENT_NAMES,
    STATUS_VALUES,
    TASK_IDS,
    agent_configs,
    amounts,
    budget_configs,
    budget_states,
    cost_records,
    jobs,
    json_values,
    reservation_ids,
    task_specs,
    timestamps,
    valid_updates,
)

FUZZ = settings(
    max_examples=max(10, settings().max_examples // 4),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_task_ids = maybe_hostile(st.sampled_from(TASK_IDS), odds=3)
_agents = maybe_hostile(st.sampled_from(ALL_AGENT_NAMES), odds=3)
_statuses = maybe_hostile(st.sampled_from(STATUS_VALUES), odds=3)
_data = maybe_hostile(json_values, odds=2)
_ats = maybe_hostile(st.none() | timestamps, odds=3)
_jobs = maybe_hostile(jobs(max_steps=3), odds=8)
_budgets = maybe_hostile(budget_states(max_ops=4), odds=8)
_amounts = edge_amounts(amounts(max_cents=5_000))
_records = hostile_mappings(cost_records())
_record_batches = hostile_batches(_records)


@st.composite
def _hand_built_records(draw: st.DrawFn) -> TaskRecord:
    """A TaskRecord built by hand, field by field, some fields hostile."""
    return TaskRecord(
        draw(_task_ids),
        draw(_agents),
        draw(_data),
        draw(maybe_hostile(st.sampled_from(list(TaskStatus)), odds=3)),
        draw(_data),
        draw(maybe_hostile(st.none() | st.text(max_size=3), odds=3)),
        draw(_ats),
        draw(_ats),
        draw(maybe_hostile(st.integers(1, 3), odds=3)),
    )


_specs = st.one_of(
    hostile_mappings(st.sampled_from(TASK_IDS).flatmap(task_specs)), _hand_built_records()
)
_spec_batches = hostile_batches(_specs)


@st.composite
def _updates(draw: st.DrawFn) -> Any:
    """An update mapping (maybe spoiled) or a hand-built TaskUpdate with hostile fields."""
    if draw(st.booleans()):
        return TaskUpdate(draw(_task_ids), draw(_statuses), draw(_data), None, draw(_ats))
    valid = st.tuples(st.sampled_from(TASK_IDS), st.sampled_from(STATUS_VALUES)).flatmap(
        lambda pair: valid_updates(*pair)
    )
    return draw(hostile_mappings(valid))


_update_batches = hostile_batches(_updates())


@st.composite
def _pending_batches(draw: st.DrawFn) -> PendingBatch:
    """A pending batch of valid updates and cost records, built through the core."""
    batch = empty_batch()
    for task_id in draw(st.lists(st.sampled_from(TASK_IDS), max_size=3)):
        batch = add_task_update(batch, task_id, draw(st.sampled_from(STATUS_VALUES)), at=1.0)
    for record in draw(st.lists(cost_records(), max_size=2)):
        batch = add_cost_record(batch, record)
    return batch


_batches = maybe_hostile(_pending_batches(), odds=8)
_plans = hostile_batches(
    st.one_of(
        _agents,
        hostile_mappings(
            st.fixed_dictionaries(
                {"agent_name": st.sampled_from(ALL_AGENT_NAMES)},
                optional={"count": st.integers(0, 10**6), "price": amounts()},
            )
        ),
    )
)

# name -> draw the arguments; every positional argument drawn by one strategy.
Args = Callable[[st.DataObject], tuple[Any, ...]]
_AGENT = {"name": "a", "price": "1", "max_total_spend": "5"}
_open_commands = st.builds(lambda: create_store_command("c0", {"total_budget": "5"}, [_AGENT]))
_ledgers = maybe_hostile(_open_commands.map(open_ledger), odds=4)
_commands = maybe_hostile(
    st.sampled_from(
        (
            create_job_command("c1", "j", "d", 1.0),
            add_tasks_command("c2", "j", [{"task_id": "t", "agent_name": "a"}]),
            reserve_command("c3", "a", None, "r1"),
            close_job_command("c4", "j"),
        )
    ),
    odds=4,
)
_journal_rows = maybe_hostile(
    st.lists(st.tuples(st.integers(0, 3), st.text(max_size=8), st.text(max_size=8)), max_size=2)
)


CORE_CALLS: dict[str, Args] = {
    "open_ledger": lambda d: (d.draw(maybe_hostile(_open_commands, odds=3)),),
    "apply_command": lambda d: (d.draw(_ledgers), d.draw(_commands)),
    "replay": lambda d: (d.draw(hostile_batches(_commands)), d.draw(st.none() | _ledgers)),
    "recover_state": lambda d: (d.draw(_journal_rows), lambda seq: d.draw(_journal_rows)),
    "new_job": lambda d: (d.draw(_task_ids), d.draw(maybe_hostile(st.text())), d.draw(_ats)),
    "new_task": lambda d: (
        d.draw(_task_ids),
        d.draw(_agents),
        d.draw(_data),
        d.draw(maybe_hostile(st.integers(1, 3))),
    ),
    "add_task": lambda d: (d.draw(_jobs), d.draw(_specs)),
    "add_tasks": lambda d: (d.draw(_jobs), d.draw(_spec_batches)),
    "is_job_complete": lambda d: (d.draw(_jobs),),
    "tasks_in_order": lambda d: (d.draw(_jobs),),
    "parse_update": lambda d: (d.draw(_updates()),),
    "apply_task_update": lambda d: (d.draw(_jobs), d.draw(_updates())),
    "apply_task_updates": lambda d: (d.draw(_jobs), d.draw(_update_batches)),
    "summarize_job": lambda d: (d.draw(_jobs),),
    "job_results": lambda d: (d.draw(_jobs),),
    "job_failures": lambda d: (d.draw(_jobs),),
    "freeze": lambda d: (d.draw(_data),),
    "thaw": lambda d: (d.draw(_data),),
    "to_money": lambda d: (d.draw(_amounts), "amount"),
    "to_optional_money": lambda d: (d.draw(_amounts), "amount"),
    "new_price_policy": lambda d: (d.draw(_amounts), d.draw(maybe_hostile(st.integers(1, 5)))),
    "new_budget": lambda d: (
        d.draw(maybe_hostile(budget_configs().map(lambda pair: pair[0]))),
        d.draw(hostile_batches(hostile_mappings(st.fixed_dictionaries({"name": st.text()})))),
    ),
    "reserve": lambda d: (
        d.draw(_budgets),
        d.draw(_agents),
        d.draw(hostile_mappings(agent_configs().map(lambda c: c or {}))),
        d.draw(maybe_hostile(st.none() | reservation_ids)),
    ),
    "release_reservation": lambda d: (d.draw(_budgets), d.draw(_agents), d.draw(_amounts)),
    "record_cost": lambda d: (d.draw(_budgets), d.draw(_records)),
    "record_costs": lambda d: (d.draw(_budgets), d.draw(_record_batches)),
    "agent_remaining": lambda d: (d.draw(_budgets), d.draw(_agents)),
    "total_remaining": lambda d: (d.draw(_budgets),),
    "summarize_budget": lambda d: (d.draw(_budgets),),
    "empty_batch": lambda d: (),
    "add_task_update": lambda d: (
        d.draw(_batches),
        d.draw(_task_ids),
        d.draw(_statuses),
        d.draw(_data),
        d.draw(maybe_hostile(st.none() | st.text(max_size=3))),
        d.draw(_ats),
    ),
    "add_cost_record": lambda d: (d.draw(_batches), d.draw(_records)),
    "apply_pending_task_updates": lambda d: (d.draw(_jobs), d.draw(_batches)),
    "apply_pending_cost_records": lambda d: (d.draw(_budgets), d.draw(_batches)),
    "drop_task_updates": lambda d: (d.draw(_batches), d.draw(maybe_hostile(st.integers(0, 3)))),
    "drop_cost_records": lambda d: (d.draw(_batches), d.draw(maybe_hostile(st.integers(0, 2)))),
    "requeue_task_updates": lambda d: (d.draw(_batches), d.draw(_update_batches)),
    "requeue_cost_records": lambda d: (d.draw(_batches), d.draw(_record_batches)),
    "parse_updates": lambda d: (d.draw(_update_batches), d.draw(_ats)),
    "BudgetCalculator.project_total_cost": lambda d: (d.draw(_plans), d.draw(_budgets)),
    "BudgetCalculator.get_cost_accuracy_metrics": lambda d: (d.draw(_budgets),),
    "BudgetCalculator.get_budget_recommendations": lambda d: (d.draw(_budgets), d.draw(_plans)),
    "BudgetCalculator.affordable_jobs": lambda d: (d.draw(_budgets), d.draw(_agents)),
}

_STATES = (JobExecution, BudgetState, PendingBatch)


def _function(name: str) -> Callable[..., Any]:
    owner, _, attr = name.rpartition(".")
    return getattr(BudgetCalculator if owner else core, attr)  # type: ignore[no-any-return]


def public_core_functions() -> set[str]:
    """Names of the functions ``core.__all__`` exports, plus the calculator's methods."""
    names = {n for n in core.__all__ if inspect.isfunction(getattr(core, n))}
    names |= {
        f"BudgetCalculator.{n}"
        for n, _ in inspect.getmembers(BudgetCalculator, inspect.isfunction)
        if not n.startswith("_")
    }
    return names


def test_every_public_core_function_is_fuzzed() -> None:
    """The fuzz table names every public function of the core, and only existing ones."""
    assert public_core_functions() == set(CORE_CALLS)


@pytest.mark.parametrize("name", sorted(CORE_CALLS))
@FUZZ
@given(data=st.data())
def test_hostile_calls_return_or_raise_a_state_error_and_change_nothing(
    name: str, data: st.DataObject
) -> None:
    """Each call returns or raises a StateError; a failure leaves its states unchanged."""
    args = CORE_CALLS[name](data)
    states = [(arg, snapshot(arg)) for arg in args if isinstance(arg, _STATES)]
    done, outcome = call_refused_or_done(lambda: _function(name)(*args))
    if not done:
        assert all(snapshot(state) == before for state, before in states)
    elif isinstance(outcome, JobExecution):
        assert held_data_is_frozen(outcome)
